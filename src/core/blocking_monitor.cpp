// The blocking monitor: a watcher thread samples each hub's turn counter (odd while a
// greenlet runs); the same odd value seen for longer than the limit is a stall. The stalled
// thread is asked for its backtrace with a signal whose handler only records addresses
// (glibc's backtrace(), warmed up beforehand so it does not load libgcc_s in the handler);
// the watcher symbolises and reports.
#include "green/blocking_monitor.hpp"

#include <cxxabi.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <semaphore.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <map>
#include <new>
#include <thread>
#include <typeinfo>

#include "core/hub_registry.hpp"
#include "core/idle_threads.hpp"
#include "core/thread_state.hpp"

namespace green {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

int capture_signal() { return SIGRTMIN + 4; }

// One backtrace request at a time (only the watcher asks). state: 0 idle, 1 requested,
// 2 the handler is writing, 3 written.
struct Capture {
  static constexpr int kMaxFrames = 64;
  std::atomic<int> state{0};
  void* frames[kMaxFrames];
  int depth = 0;
  bool is_greenlet = false;
  std::uint64_t id = 0;
  const std::type_info* site = nullptr;
  char name[64] = {};
  sem_t done;
  Capture() { sem_init(&done, 0, 0); }
};
Capture capture;

void copy_name(const char* text, std::size_t size) noexcept {
  const std::size_t n = std::min(size, sizeof(capture.name) - 1);
  std::memcpy(capture.name, text, n);
  capture.name[n] = '\0';
}

void on_capture_signal(int, siginfo_t*, void*) {
  int expected = 1;
  if (!capture.state.compare_exchange_strong(expected, 2, std::memory_order_acq_rel)) return;
  const int saved_errno = errno;
  capture.depth = ::backtrace(capture.frames, Capture::kMaxFrames);
  capture.is_greenlet = false;
  capture.id = 0;
  capture.site = nullptr;
  capture.name[0] = '\0';
  if (detail::SwitchState* ts = detail::tls_switch_state; ts != nullptr && ts->current != nullptr) {
    if (GreenletBase* g = ts->current->greenlet_base()) {
      capture.is_greenlet = true;
      capture.id = g->id();
      capture.site = g->spawn_site();
      const std::string& name = detail::HubAccess::given_name(*g);
      copy_name(name.data(), name.size());
    } else {
      const char* what = ts->current->diagnostic_name();  // "hub" or "raw greenlet": static text
      copy_name(what, std::strlen(what));
    }
  }
  capture.state.store(3, std::memory_order_release);
  sem_post(&capture.done);
  errno = saved_errno;
}

extern "C" char** environ;

struct Frame {
  void* address;
  std::string object;       // the file it belongs to ("" if unknown)
  std::uintptr_t offset;    // the address inside that file, as addr2line wants it
  std::string symbol;       // from the dynamic symbol table (dladdr): exported names only
  std::string function;     // from addr2line (debug information, static functions too)
  std::string location;     // file:line from addr2line
};

// Runs `addr2line -a -f -i -C -e object offsets...` when it is installed (binutils): it
// names static functions and gives file:line from debug information, which dladdr cannot.
// Of a chain of inlined calls it keeps the outermost: the function the frame belongs to.
void locate(const std::string& object, std::vector<Frame*>& frames) {
  std::vector<std::string> args = {"addr2line", "-a", "-f", "-i", "-C", "-e", object};
  for (Frame* f : frames) {
    char hex[32];
    std::snprintf(hex, sizeof(hex), "0x%lx", static_cast<unsigned long>(f->offset));
    args.emplace_back(hex);
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Not under the patch layer: the child gets the environment without LD_PRELOAD.
  std::vector<char*> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e)
    if (std::strncmp(*e, "LD_PRELOAD=", 11) != 0) env.push_back(*e);
  env.push_back(nullptr);
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, "addr2line", &actions, nullptr, argv.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  std::string text;
  if (rc == 0) {
    char buffer[4096];
    for (ssize_t n; (n = ::read(out[0], buffer, sizeof(buffer))) != 0;) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      text.append(buffer, static_cast<std::size_t>(n));
    }
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  ::close(out[0]);
  // Per address: the address ("0x..."), then pairs of lines (function, file:line; "??" when
  // unknown), innermost inlined call first.
  std::vector<std::string> lines;
  for (std::size_t pos = 0, end; (end = text.find('\n', pos)) != std::string::npos; pos = end + 1)
    lines.push_back(text.substr(pos, end - pos));
  std::size_t i = 0;
  for (Frame* f : frames) {
    if (i >= lines.size() || lines[i].rfind("0x", 0) != 0) return;
    ++i;
    std::string function, location;
    for (; i + 1 < lines.size() && lines[i].rfind("0x", 0) != 0; i += 2) {
      function = lines[i];
      location = lines[i + 1];
    }
    if (!function.empty() && function != "??") f->function = function;
    if (!location.empty() && location.rfind("??", 0) != 0) f->location = location;
  }
}

// "spin at prog.c:19 in ./prog (+0x127f)"; falls back to the dynamic symbol, then to the
// file and offset (what addr2line -e wants).
std::vector<std::string> symbolise(void* const* addresses, int count) {
  std::vector<Frame> frames;
  for (int i = 0; i < count; ++i) {
    Frame f{addresses[i], "", 0, "", "", ""};
    // Past the first, each is a return address, which points after its call: look up the
    // byte before it.
    char* lookup = static_cast<char*>(f.address) - (i > 0 ? 1 : 0);
    Dl_info info{};
    if (::dladdr(lookup, &info) != 0 && info.dli_fname != nullptr) {
      f.object = info.dli_fname;
      f.offset = static_cast<std::uintptr_t>(lookup - static_cast<char*>(info.dli_fbase));
      if (info.dli_sname != nullptr) {
        int status = 0;
        char* text = abi::__cxa_demangle(info.dli_sname, nullptr, nullptr, &status);
        f.symbol = status == 0 && text != nullptr ? text : info.dli_sname;
        std::free(text);
      }
    }
    frames.push_back(std::move(f));
  }
  std::map<std::string, std::vector<Frame*>> by_object;
  for (Frame& f : frames)
    if (!f.object.empty()) by_object[f.object].push_back(&f);
  for (auto& [object, list] : by_object) locate(object, list);

  std::vector<std::string> out;
  for (const Frame& f : frames) {
    char head[48];
    std::snprintf(head, sizeof(head), "%p ", f.address);
    std::string line = head;
    line += !f.function.empty() ? f.function : !f.symbol.empty() ? f.symbol : "??";
    if (!f.location.empty()) line += " at " + f.location;
    if (!f.object.empty()) {
      char offset[32];
      std::snprintf(offset, sizeof(offset), " (+0x%lx)", static_cast<unsigned long>(f.offset));
      line += " in " + f.object + offset;
    }
    out.push_back(std::move(line));
  }
  return out;
}

// Asks thread `tid` for its backtrace (return addresses, symbolised later, outside the
// lock); hubs_mutex is held, so the thread is alive.
std::vector<void*> capture_backtrace(int tid, BlockingReport& report) {
  report.greenlet_name = "?";
  capture.state.store(1, std::memory_order_release);
  if (::tgkill(::getpid(), tid, capture_signal()) != 0) {
    capture.state.store(0, std::memory_order_release);
    return {};
  }
  timespec deadline;
  ::clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_nsec += 250'000'000;
  if (deadline.tv_nsec >= 1'000'000'000) {
    deadline.tv_sec += 1;
    deadline.tv_nsec -= 1'000'000'000;
  }
  int rc;
  while ((rc = sem_timedwait(&capture.done, &deadline)) != 0 && errno == EINTR) {
  }
  if (rc != 0) {
    int expected = 1;
    if (capture.state.compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) return {};  // no answer
    while (sem_wait(&capture.done) != 0 && errno == EINTR) {  // the handler is writing: wait for it
    }
  }
  report.greenlet_id = capture.id;
  if (capture.site != nullptr) {  // type_info objects are static: safe after the greenlet died
    int status = 0;
    char* text = abi::__cxa_demangle(capture.site->name(), nullptr, nullptr, &status);
    report.spawn_site = status == 0 && text != nullptr ? text : capture.site->name();
    std::free(text);
  }
  if (capture.is_greenlet && capture.name[0] == '\0')
    report.greenlet_name = "Greenlet-" + std::to_string(capture.id);
  else
    report.greenlet_name = capture.name;
  // Frame 0 is the handler, frame 1 the kernel's signal trampoline; frame 2 is where the
  // thread was interrupted (an exact address), the rest are return addresses.
  std::vector<void*> frames(capture.frames + std::min(capture.depth, 2), capture.frames + capture.depth);
  capture.state.store(0, std::memory_order_release);
  return frames;
}

class Monitor;
Monitor& monitor();

class Monitor {
 public:
  void configure(milliseconds limit, BlockingHandler handler) {
    std::unique_lock lock(mutex_);
    limit_ = limit;
    handler_ = std::move(handler);
    if (limit.count() == 0) {
      stop(lock);
      return;
    }
    if (running_) {
      wake_.notify_all();
      return;
    }
    start();
  }

  milliseconds limit() {
    std::lock_guard guard(mutex_);
    return limit_;
  }

  // The child of a fork has no watcher thread: forget the parent's and start a new one.
  // mutex_ is held, taken before the fork.
  void restart_in_child() {
    // The parent's thread handle means nothing here, and its watcher may have been waiting
    // on wake_, whose state would then name a waiter that does not exist.
    new (&thread_) std::thread();
    new (&wake_) std::condition_variable();
    if (counted_idle_) detail::add_idle_threads(-1);  // the parent's thread counted itself
    counted_idle_ = false;
    running_ = false;
    seen_.clear();
    capture.state.store(0, std::memory_order_release);
    sem_init(&capture.done, 0, 0);
    if (limit_.count() > 0) start();
    mutex_.unlock();
  }

  void stop_at_exit() {
    std::unique_lock lock(mutex_);
    stop(lock);
  }

 private:
  struct Seen {
    const Hub* hub;
    int tid;
    std::uint64_t turn;
    Clock::time_point since;
    bool reported;
    bool present;
  };

  void start() {
    static bool prepared = [] {
      void* warm[4];
      ::backtrace(warm, 4);  // loads libgcc_s now, not inside the signal handler
      struct sigaction action {};
      action.sa_sigaction = on_capture_signal;
      action.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
      sigemptyset(&action.sa_mask);
      ::sigaction(capture_signal(), &action, nullptr);
      std::atexit([] { monitor().stop_at_exit(); });
      ::pthread_atfork([] { monitor().mutex_.lock(); }, [] { monitor().mutex_.unlock(); },
                       [] { monitor().restart_in_child(); });
      return true;
    }();
    (void)prepared;
    stopping_ = false;
    detail::RealThreadScope real_thread;
    thread_ = std::thread([this] { run(); });
    running_ = true;  // only once there is a thread for stop() to join
  }

  void stop(std::unique_lock<std::mutex>& lock) {
    if (!running_) return;
    stopping_ = true;
    wake_.notify_all();
    std::thread thread = std::move(thread_);
    lock.unlock();
    thread.join();
    lock.lock();
    running_ = false;
  }

  void run() {
    std::unique_lock lock(mutex_);
    // Idle for the hubs (they must not wait for it) while its thread exists: counted from
    // its own stack, under mutex_ so that a fork sees the count and counted_idle_ agree.
    detail::add_idle_threads(1);
    counted_idle_ = true;
    struct Uncount {
      bool& counted;
      ~Uncount() {
        detail::add_idle_threads(-1);
        counted = false;
      }
    } uncount{counted_idle_};
    while (!stopping_) {
      const milliseconds period = std::clamp(limit_ / 4, milliseconds(1), milliseconds(250));
      wake_.wait_for(lock, period);
      if (stopping_) break;
      const milliseconds limit = limit_;
      BlockingHandler handler = handler_;
      lock.unlock();
      for (auto& [report, frames] : look(limit)) {
        report.backtrace = symbolise(frames.data(), static_cast<int>(frames.size()));
        deliver(report, handler);
      }
      lock.lock();
    }
  }

  std::vector<std::pair<BlockingReport, std::vector<void*>>> look(milliseconds limit) {
    std::vector<std::pair<BlockingReport, std::vector<void*>>> reports;
    const Clock::time_point now = Clock::now();
    for (Seen& s : seen_) s.present = false;
    detail::for_each_hub([&](const Hub& hub) {
      const std::uint64_t turn = detail::HubAccess::turn(hub);
      auto it = std::find_if(seen_.begin(), seen_.end(),
                             [&](const Seen& s) { return s.hub == &hub && s.tid == hub.tid(); });
      if (it == seen_.end()) {
        seen_.push_back(Seen{&hub, hub.tid(), turn, now, false, true});
        return;
      }
      it->present = true;
      if (turn != it->turn) {
        *it = Seen{&hub, hub.tid(), turn, now, false, true};
        return;
      }
      if ((turn & 1) == 0 || it->reported || now - it->since < limit) return;
      it->reported = true;  // once per stall
      BlockingReport report;
      report.tid = hub.tid();
      report.limit = limit;
      report.blocked_for = std::chrono::duration_cast<milliseconds>(now - it->since);
      std::vector<void*> frames = capture_backtrace(hub.tid(), report);
      reports.emplace_back(std::move(report), std::move(frames));
    });
    std::erase_if(seen_, [](const Seen& s) { return !s.present; });
    return reports;
  }

  static void deliver(const BlockingReport& report, const BlockingHandler& handler) {
    if (handler) {
      try {
        handler(report);
      } catch (...) {
        std::fputs("green: the blocking monitor's handler threw\n", stderr);
      }
      return;
    }
    // write(2), not stdio: the stalled thread may hold stderr's lock.
    const std::string text = report.format();
    for (std::size_t done = 0; done < text.size();) {
      const ssize_t n = ::write(STDERR_FILENO, text.data() + done, text.size() - done);
      if (n <= 0 && errno != EINTR) break;
      if (n > 0) done += static_cast<std::size_t>(n);
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
  bool running_ = false;
  bool stopping_ = false;
  bool counted_idle_ = false;  // the watcher thread counts itself in idle_green_threads
  milliseconds limit_{0};
  BlockingHandler handler_;
  std::vector<Seen> seen_;  // the watcher thread's own
};

// Never destroyed: the watcher may be looking while static destructors run; the atexit
// hook stops it first.
Monitor& monitor() {
  static Monitor* instance = new Monitor;
  return *instance;
}

}  // namespace

std::string BlockingReport::format() const {
  std::string text = "green: blocking monitor: the hub of thread " + std::to_string(tid) + " has not run its loop for " +
                     std::to_string(blocked_for.count()) + " ms (limit " + std::to_string(limit.count()) + " ms): ";
  if (greenlet_id != 0) {
    text += "greenlet '" + greenlet_name + "' (id " + std::to_string(greenlet_id) + ") has not yielded";
    if (!spawn_site.empty()) text += " (spawned with " + spawn_site + ")";
  } else if (greenlet_name == "?")
    text += "the thread did not answer the signal asking for its backtrace";
  else
    text += "the " + greenlet_name + " has not come back to its loop";
  if (backtrace.empty()) return text + "\n";
  text += "; its stack:\n";
  for (std::size_t i = 0; i < backtrace.size(); ++i) text += "  #" + std::to_string(i) + " " + backtrace[i] + "\n";
  return text;
}

void set_max_blocking(milliseconds limit, BlockingHandler handler) {
  if (limit.count() < 0)
    throw std::invalid_argument("green::set_max_blocking: limit must be >= 0 ms, got " + std::to_string(limit.count()));
  monitor().configure(limit, std::move(handler));
}

milliseconds max_blocking() noexcept {
  try {
    return monitor().limit();
  } catch (...) {
    return milliseconds(0);
  }
}

namespace detail {
void start_blocking_monitor_from_env() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* text = std::getenv("GREEN_MAX_BLOCKING_MS");
    if (text == nullptr || *text == '\0') return;
    char* end = nullptr;
    const long ms = std::strtol(text, &end, 10);
    if (end == text || *end != '\0' || ms < 0) {
      std::fprintf(stderr, "green: GREEN_MAX_BLOCKING_MS must be a whole number of milliseconds, got '%s'; ignored\n",
                   text);
      return;
    }
    if (ms > 0) set_max_blocking(milliseconds(ms));
  });
}
}  // namespace detail

}  // namespace green
