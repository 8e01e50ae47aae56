#include "green/prefork.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "green/fd_wait.hpp"
#include "green/hub.hpp"
#include "green/signal.hpp"

namespace green {
namespace {

constexpr idtype_t kPidfdIdType = static_cast<idtype_t>(3);  // P_PIDFD
constexpr double kFastDeath = 1.0;  // a child that lived less than this is restarted after as long
constexpr double kReadyTimeout = 30.0;  // for a new worker to accept

double monotonic() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::system_error os_error(int error, const std::string& what) { return std::system_error(error, std::generic_category(), what); }

std::string describe_status(int status) {
  if (status >= 0) return "exited with status " + std::to_string(status);
  return "was killed by signal " + std::to_string(-status) + " (" + strsignal(-status) + ")";
}

}  // namespace

PreforkServer::PreforkServer(int processes, Address address, StreamServer::Handler handler, std::size_t max_connections)
    : address_(address), handler_(std::move(handler)), max_connections_(max_connections) {
  if (processes < 1)
    throw std::invalid_argument("green::PreforkServer: processes must be >= 1, got " + std::to_string(processes));
  if (!handler_) throw std::invalid_argument("green::PreforkServer: the handler is empty");
  if (max_connections == 0) throw std::invalid_argument("green::PreforkServer: max_connections must be >= 1");
  children_.resize(static_cast<std::size_t>(processes));
}

PreforkServer::~PreforkServer() {
  if (started_ && !stopped_.is_set()) {
    try {
      stop(0.0);
    } catch (...) {
      // Killed while stopping: finish below without waiting cooperatively.
    }
  }
  for (Child& c : children_) {
    if (c.watcher && !c.watcher.dead()) {
      try {
        c.watcher.kill();
      } catch (...) {
      }
    }
    if (c.pidfd >= 0) {
      ::syscall(SYS_pidfd_send_signal, c.pidfd, SIGKILL, nullptr, 0);
      siginfo_t info{};
      while (::waitid(kPidfdIdType, static_cast<id_t>(c.pidfd), &info, WEXITED) != 0 && errno == EINTR) {
      }
      ::close(c.pidfd);
      c.pidfd = -1;
    }
  }
  for (int& fd : parent_alive_)
    if (fd >= 0) ::close(std::exchange(fd, -1));
}

void PreforkServer::set_child_stop_timeout(double seconds) {
  if (!(seconds >= 0))
    throw std::invalid_argument("green::PreforkServer.set_child_stop_timeout: seconds must be >= 0");
  child_stop_timeout_ = seconds;
}

Address PreforkServer::address() const { return listener_ ? listener_.getsockname() : address_; }

std::vector<pid_t> PreforkServer::pids() const {
  std::vector<pid_t> out;
  for (const Child& c : children_) out.push_back(c.pid);
  return out;
}

void PreforkServer::start() {
  if (started_) throw std::logic_error("green::PreforkServer.start: already started");
  // One listening socket, made before any fork and shared by every child: port 0 is
  // resolved once, a restarted child takes over the same queue, and connections waiting
  // in the queue when a child dies are accepted by the others (with SO_REUSEPORT each child
  // would own a queue, and the kernel resets what waits in a dead child's queue).
  if (reuse_port_ && address_.family() != AF_INET && address_.family() != AF_INET6)
    throw std::invalid_argument("green::PreforkServer: reuse_port needs a TCP address, not " + address_.to_string());
  Socket s(address_.family(), SOCK_STREAM);
  if (address_.family() != AF_UNIX) s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
  // reuse_port: the parent only holds the port (a bound socket that does not listen gets
  // no connections); each worker listens on its own.
  if (reuse_port_) s.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
  s.bind(address_);
  if (!reuse_port_) s.listen(backlog_);
  listener_ = std::move(s);
  address_ = listener_.getsockname();
  if (::pipe2(parent_alive_, O_CLOEXEC) != 0) throw os_error(errno, "green::PreforkServer.start: pipe2");
  started_ = true;
  try {
    for (int slot = 0; slot < processes(); ++slot) spawn_child(slot);
  } catch (...) {
    stop(0.0);
    throw;
  }
  for (int slot = 0; slot < processes(); ++slot)
    children_[slot].watcher =
        spawn(SpawnOptions{"PreforkServer.watch " + std::to_string(slot)}, [this, slot] { watch(slot); });
}

void PreforkServer::spawn_child(int slot) {
  std::fflush(nullptr);  // what is buffered is written once, not once more by each child
  // The child writes a byte here once it accepts (with reuse_port, nothing listens on the
  // port before a worker does); EOF means it ended before.
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) throw os_error(errno, "green::PreforkServer: pipe2");
  pid_t pid = -1;
  int pidfd = -1;
  int error = 0;
  // Forked from a thread of its own: the child's only thread has no hub yet, so the child
  // runs a fresh hub with nothing of the parent's greenlets in it. Joined, not waited on
  // cooperatively: this hub pauses for the fork as it would for fork(2) itself, and is not
  // halfway through an allocation or a lock of its own that the child would inherit taken
  // (glibc makes malloc safe across fork; the sanitizers' allocators here do not).
  auto fork_one = [&] {
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    // Blocked before the fork, so the child reads them from a signalfd from its first
    // instruction on; this short-lived thread of the parent needs neither.
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    const pid_t p = ::fork();
    if (p == 0) child_main(ready[1]);
    if (p < 0) {
      error = errno;
      return;
    }
    pid = p;
    pidfd = static_cast<int>(::syscall(SYS_pidfd_open, p, 0));
    if (pidfd < 0) {
      error = errno;
      ::kill(p, SIGKILL);
      ::waitpid(p, nullptr, 0);
    }
  };
  std::thread forker;
  {
    detail::RealThreadScope real;  // a real thread even under green-run --threads
    forker = std::thread(fork_one);
  }
  forker.join();
  ::close(ready[1]);
  struct CloseReady {
    int fd;
    ~CloseReady() { ::close(fd); }
  } close_ready{ready[0]};
  if (error != 0) throw os_error(error, "green::PreforkServer: starting worker " + std::to_string(slot));
  ::fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  Child& c = children_[slot];
  c.pid = pid;
  c.pidfd = pidfd;
  c.started_at = monotonic();
  c.status.reset();
  char byte = 0;
  if (!wait_read(ready[0], kReadyTimeout) || ::read(ready[0], &byte, 1) != 1)
    std::fprintf(stderr, "green::PreforkServer %s: worker %d (pid %d) did not start accepting within %.0f s\n",
                 address_.to_string().c_str(), slot, static_cast<int>(pid), kReadyTimeout);
}

void PreforkServer::child_main(int ready_fd) noexcept {
  int status = 0;
  try {
    ::close(parent_alive_[1]);  // only the parent holds the write end: EOF means it is gone
    // The siblings' pidfds are no business of this child, but a number the parent's
    // greenlets waited on stays taken (the process-wide wait table still lists those
    // waiters): point it at /dev/null instead of closing it.
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    for (const Child& c : children_)
      if (c.pidfd >= 0 && null_fd >= 0) ::dup3(null_fd, c.pidfd, O_CLOEXEC);
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    const int signal_fd = ::signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (signal_fd < 0) throw os_error(errno, "signalfd");
    Socket listener;
    if (reuse_port_) {
      listener = Socket(address_.family(), SOCK_STREAM);
      listener.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
      listener.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
      listener.bind(address_);
    } else {
      const int listen_fd = ::fcntl(listener_.fileno(), F_DUPFD_CLOEXEC, 0);
      if (listen_fd < 0) throw os_error(errno, "dup of the listening socket");
      listener = Socket::from_fd(listen_fd);
    }

    StreamServer server(std::move(listener), handler_, max_connections_);
    if (on_error_) server.set_error_handler(on_error_);
    server.set_backlog(backlog_);
    server.start();
    (void)!::write(ready_fd, "r", 1);
    ::close(ready_fd);
    auto stop_when_readable = [&server, this](int fd, const char* why) {
      return spawn(SpawnOptions{std::string("PreforkServer worker: stop on ") + why}, [&server, this, fd] {
        wait_read(fd);
        server.stop(child_stop_timeout_);
      });
    };
    GreenletRef on_signal = stop_when_readable(signal_fd, "SIGTERM/SIGINT");
    GreenletRef on_orphaned = stop_when_readable(parent_alive_[0], "parent exit");
    server.serve_forever();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "green::PreforkServer: worker %d failed: %s\n", static_cast<int>(::getpid()), e.what());
    status = 1;
  } catch (...) {
    std::fprintf(stderr, "green::PreforkServer: worker %d failed\n", static_cast<int>(::getpid()));
    status = 1;
  }
  std::fflush(nullptr);
  ::_exit(status);  // the rest of the parent's program is not this process's to run
}

void PreforkServer::watch(int slot) {
  Child& c = children_[slot];
  for (;;) {
    // Shared: the pidfd becomes readable when the child exits.
    const WaitStatus waited = wait_fd(c.pidfd, kReadable, std::nullopt, false);
    if (waited.result != WaitResult::ready) throw os_error(waited.error, "green::PreforkServer: watching a worker");
    siginfo_t info{};
    while (::waitid(kPidfdIdType, static_cast<id_t>(c.pidfd), &info, WEXITED) != 0) {
      if (errno != EINTR) throw os_error(errno, "green::PreforkServer: waitid for worker " + std::to_string(c.pid));
    }
    const int status = info.si_code == CLD_EXITED ? info.si_status : -info.si_status;
    const pid_t pid = c.pid;
    const double lived = monotonic() - c.started_at;
    ::close(std::exchange(c.pidfd, -1));
    c.pid = 0;
    c.status = status;
    if (stopping_) return;
    report_exit(slot, pid, status);
    if (lived < kFastDeath && stop_requested_.wait(kFastDeath)) return;
    for (;;) {
      if (stopping_) return;
      try {
        spawn_child(slot);
        ++restarts_;
        break;
      } catch (const std::system_error& e) {
        std::fprintf(stderr, "green::PreforkServer %s: %s; trying again in %.0f s\n", address_.to_string().c_str(),
                     e.what(), kFastDeath);
        if (stop_requested_.wait(kFastDeath)) return;
      }
    }
    // stop() may have signalled the children while this one was being forked.
    if (stopping_) ::syscall(SYS_pidfd_send_signal, c.pidfd, SIGTERM, nullptr, 0);
  }
}

void PreforkServer::report_exit(int slot, pid_t pid, int status) noexcept {
  try {
    if (on_child_exit_) {
      on_child_exit_(slot, pid, status);
      return;
    }
  } catch (...) {
    std::fprintf(stderr, "green::PreforkServer %s: the child exit handler failed\n", address_.to_string().c_str());
    return;
  }
  std::fprintf(stderr, "green::PreforkServer %s: worker %d (pid %d) %s; starting another\n",
               address_.to_string().c_str(), slot, static_cast<int>(pid), describe_status(status).c_str());
}

void PreforkServer::signal_children(int signum) noexcept {
  for (const Child& c : children_)
    if (c.pidfd >= 0) ::syscall(SYS_pidfd_send_signal, c.pidfd, signum, nullptr, 0);
}

std::vector<int> PreforkServer::serve_forever() {
  if (!started_) start();
  try {
    stopped_.wait();
  } catch (...) {
    stop(0.0);
    throw;
  }
  std::vector<int> statuses;
  for (const Child& c : children_) statuses.push_back(c.status.value_or(-SIGKILL));
  return statuses;
}

void PreforkServer::stop(std::optional<double> timeout) {
  if (!started_) {
    stopped_.set();
    return;
  }
  if (stopping_) {
    stopped_.wait();
    return;
  }
  stopping_ = true;
  stop_requested_.set();
  signal_children(SIGTERM);
  std::vector<GreenletRef> watchers;
  for (const Child& c : children_)
    if (c.watcher) watchers.push_back(c.watcher);
  try {
    if (joinall(watchers, timeout).size() < watchers.size()) {
      signal_children(SIGKILL);
      joinall(watchers);
    }
  } catch (...) {
    signal_children(SIGKILL);  // the destructor reaps them
    throw;
  }
  listener_.close();
  for (int& fd : parent_alive_)
    if (fd >= 0) ::close(std::exchange(fd, -1));
  stopped_.set();
}

std::vector<int> serve_prefork(int processes, Address address, StreamServer::Handler handler,
                               std::size_t max_connections) {
  // Shared with the signal callbacks, whose greenlets may run after this returns.
  auto server = std::make_shared<PreforkServer>(processes, address, std::move(handler), max_connections);
  SignalHandler on_int = signal_handler(SIGINT, [server] { server->stop(); });
  SignalHandler on_term = signal_handler(SIGTERM, [server] { server->stop(); });
  return server->serve_forever();
}

}  // namespace green
