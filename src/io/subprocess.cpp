#include "green/subprocess.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <system_error>

#include "green/greenlet.hpp"
#include "green/hub.hpp"
#include "green/fd_wait.hpp"

extern char** environ;

namespace green {
namespace {

constexpr std::uint64_t kClonePidfd = 0x00001000;  // CLONE_PIDFD
constexpr idtype_t kPidfdIdType = static_cast<idtype_t>(3);  // P_PIDFD

// clone3's argument block (linux/sched.h, version 0), spelled out to keep that header out.
struct CloneArgs {
  std::uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

double monotonic() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::system_error os_error(int error, const std::string& what) { return std::system_error(error, std::generic_category(), what); }

void close_fd(int& fd) noexcept {
  if (fd < 0) return;
  fd_closing(fd);
  ::close(fd);
  fd = -1;
}

struct PipeEnds {
  int read = -1, write = -1;
};

PipeEnds make_pipe(bool parent_reads) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw os_error(errno, "green::Popen: pipe2");
  const int parent = parent_reads ? fds[0] : fds[1];
  ::fcntl(parent, F_SETFL, ::fcntl(parent, F_GETFL) | O_NONBLOCK);
  fd_opened(parent);
  return {fds[0], fds[1]};
}

// Reads `fd` until EOF into `out` (cooperatively).
void drain(int fd, std::string& out, const char* what) {
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) return;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) throw os_error(errno, std::string("green::Popen.communicate: reading ") + what);
    wait_read(fd);
  }
}

}  // namespace

Popen::Popen(std::vector<std::string> argv, PopenOptions options) : argv_(std::move(argv)) {
  if (argv_.empty() || argv_[0].empty()) throw std::invalid_argument("green::Popen: argv is empty");
  if (options.std_in == Stdio::to_stdout || options.std_out == Stdio::to_stdout)
    throw std::invalid_argument("green::Popen: only stderr can be sent to stdout");
  // Everything the child needs is prepared here: between clone and exec it only makes
  // system calls (no allocation, no locks).
  std::vector<char*> args;
  for (std::string& a : argv_) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<char*> envp;
  if (options.env) {
    for (std::string& e : *options.env) envp.push_back(e.data());
    envp.push_back(nullptr);
  }
  PipeEnds in, out, err;
  struct CloseAll {
    PipeEnds* p[3];
    ~CloseAll() {
      for (PipeEnds* e : p) {
        if (e->read >= 0) ::close(e->read);
        if (e->write >= 0) ::close(e->write);
      }
    }
  } close_all{{&in, &out, &err}};
  if (options.std_in == Stdio::pipe) in = make_pipe(false);
  if (options.std_out == Stdio::pipe) out = make_pipe(true);
  if (options.std_err == Stdio::pipe) err = make_pipe(true);
  int devnull = -1;
  if (options.std_in == Stdio::devnull || options.std_out == Stdio::devnull || options.std_err == Stdio::devnull) {
    devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) throw os_error(errno, "green::Popen: /dev/null");
  }
  struct CloseNull {
    int fd;
    ~CloseNull() {
      if (fd >= 0) ::close(fd);
    }
  } close_null{devnull};
  // The child reports a failed exec through this pipe (closed by a successful exec).
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) throw os_error(errno, "green::Popen: pipe2");
  const char* cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  const int child_in = options.std_in == Stdio::pipe ? in.read : options.std_in == Stdio::devnull ? devnull : -1;
  const int child_out = options.std_out == Stdio::pipe ? out.write : options.std_out == Stdio::devnull ? devnull : -1;
  const int child_err = options.std_err == Stdio::pipe      ? err.write
                        : options.std_err == Stdio::devnull ? devnull
                        : options.std_err == Stdio::to_stdout ? -2
                                                              : -1;
  char* const* child_env = options.env ? envp.data() : environ;

  int pidfd = -1;
  CloneArgs ca{};
  ca.flags = kClonePidfd;
  ca.pidfd = reinterpret_cast<std::uint64_t>(&pidfd);
  ca.exit_signal = SIGCHLD;
  const long pid = ::syscall(SYS_clone3, &ca, sizeof(ca));
  if (pid == 0) {
    // The child: system calls only.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);  // the hub may block signals (signalfd)
    int error = 0;
    if (child_in >= 0 && ::dup2(child_in, 0) < 0) error = errno;
    if (!error && child_out >= 0 && ::dup2(child_out, 1) < 0) error = errno;
    if (!error && child_err >= 0 && ::dup2(child_err, 2) < 0) error = errno;
    if (!error && child_err == -2 && ::dup2(1, 2) < 0) error = errno;
    if (!error && cwd != nullptr && ::chdir(cwd) != 0) error = errno;
    if (!error) {
      ::execvpe(args[0], args.data(), child_env);
      error = errno;
    }
    ssize_t ignored = ::write(report[1], &error, sizeof(error));
    (void)ignored;
    ::_exit(127);
  }
  const int clone_error = errno;
  ::close(report[1]);
  if (pid < 0) {
    ::close(report[0]);
    throw os_error(clone_error, "green::Popen: clone3 for '" + argv_[0] + "'");
  }
  pid_ = static_cast<pid_t>(pid);
  pidfd_ = pidfd;
  ::fcntl(pidfd_, F_SETFD, FD_CLOEXEC);
  // A successful exec closes the report pipe: EOF. Exec is quick, so this blocking read
  // only waits for the child's dup2/exec.
  int error = 0;
  ssize_t got;
  do got = ::read(report[0], &error, sizeof(error));
  while (got < 0 && errno == EINTR);
  ::close(report[0]);
  if (got == sizeof(error)) {
    siginfo_t info;
    ::waitid(kPidfdIdType, static_cast<id_t>(pidfd_), &info, WEXITED);
    ::close(pidfd_);
    pidfd_ = -1;
    throw os_error(error, "green::Popen: cannot run '" + argv_[0] + "'" +
                              (cwd != nullptr ? " in '" + options.cwd + "'" : std::string()));
  }
  fd_opened(pidfd_);
  // Keep the parent's ends; the child's ends close with close_all.
  if (options.std_in == Stdio::pipe) in_ = std::exchange(in.write, -1);
  if (options.std_out == Stdio::pipe) out_ = std::exchange(out.read, -1);
  if (options.std_err == Stdio::pipe) err_ = std::exchange(err.read, -1);
}

Popen::Popen(Popen&& o) noexcept
    : argv_(std::move(o.argv_)),
      pid_(std::exchange(o.pid_, -1)),
      pidfd_(std::exchange(o.pidfd_, -1)),
      in_(std::exchange(o.in_, -1)),
      out_(std::exchange(o.out_, -1)),
      err_(std::exchange(o.err_, -1)),
      returncode_(o.returncode_),
      input_(std::move(o.input_)),
      written_(o.written_),
      out_buf_(std::move(o.out_buf_)),
      err_buf_(std::move(o.err_buf_)) {}

Popen::~Popen() {
  close_fd(in_);
  close_fd(out_);
  close_fd(err_);
  if (pidfd_ >= 0) {
    try {
      if (!returncode_) reap(false);
    } catch (const std::system_error&) {
      // Reaped by somebody else (SIGCHLD set to SIG_IGN): nothing left to collect.
    }
    close_fd(pidfd_);
  }
}

std::string Popen::name() const {
  std::string text = "'" + argv_[0];
  for (std::size_t i = 1; i < argv_.size() && text.size() < 60; ++i) text += " " + argv_[i];
  return text + "' (pid " + std::to_string(pid_) + ")";
}

bool Popen::reap(bool block) {
  if (returncode_) return true;
  siginfo_t info{};
  for (;;) {
    const int r = ::waitid(kPidfdIdType, static_cast<id_t>(pidfd_), &info, WEXITED | (block ? 0 : WNOHANG));
    if (r == 0) break;
    if (errno == EINTR) continue;
    throw os_error(errno, "green::Popen.wait: waitid for " + name());
  }
  if (info.si_pid == 0) return false;  // still running
  returncode_ = info.si_code == CLD_EXITED ? info.si_status : -info.si_status;
  return true;
}

std::optional<int> Popen::poll() {
  if (!returncode_ && pidfd_ >= 0) reap(false);
  return returncode_;
}

int Popen::wait(std::optional<double> timeout) {
  if (returncode_) return *returncode_;
  if (timeout && !(*timeout >= 0)) throw std::invalid_argument("green::Popen.wait: timeout must be >= 0");
  // The pidfd becomes readable when the child exits. Shared: several greenlets may wait.
  const WaitStatus status = wait_fd(pidfd_, kReadable, timeout, false);
  if (status.result == WaitResult::timed_out)
    throw TimeoutExpired("green::Popen.wait: " + name() + " did not exit within " + std::to_string(*timeout) +
                             " s; it is still running (a timeout kills nothing)",
                         *timeout);
  if (status.result == WaitResult::cancelled) throw os_error(status.error, "green::Popen.wait: " + name());
  reap(true);
  return *returncode_;
}

void Popen::close_stdin() noexcept { close_fd(in_); }

void Popen::send_signal(int signum) {
  if (returncode_ || pidfd_ < 0) return;
  if (::syscall(SYS_pidfd_send_signal, pidfd_, signum, nullptr, 0) != 0 && errno != ESRCH)
    throw os_error(errno, "green::Popen.send_signal(" + std::to_string(signum) + ") to " + name());
}

std::pair<std::string, std::string> Popen::communicate(std::string_view input, std::optional<double> timeout) {
  if (!input.empty() && in_ < 0 && !input_)
    throw std::invalid_argument("green::Popen.communicate: input given but stdin is not a pipe");
  if (!input_) input_.emplace(input);
  if (timeout && !(*timeout >= 0)) throw std::invalid_argument("green::Popen.communicate: timeout must be >= 0");
  const double start = monotonic();
  std::vector<GreenletRef> work;
  if (in_ >= 0)
    work.push_back(spawn([this] {
      const std::string& input = *input_;
      while (written_ < input.size()) {
        const ssize_t n = ::write(in_, input.data() + written_, input.size() - written_);
        if (n >= 0) {
          written_ += static_cast<std::size_t>(n);
          continue;
        }
        if (errno == EINTR) continue;
        if (errno == EPIPE) break;  // the child stopped reading: as Python, not an error
        if (errno != EAGAIN) throw os_error(errno, "green::Popen.communicate: writing stdin of " + name());
        wait_write(in_);
      }
      close_stdin();
    }));
  if (out_ >= 0)
    work.push_back(spawn([this] {
      drain(out_, out_buf_, "stdout");
      close_fd(out_);
    }));
  if (err_ >= 0)
    work.push_back(spawn([this] {
      drain(err_, err_buf_, "stderr");
      close_fd(err_);
    }));
  auto expired = [&] {
    return TimeoutExpired("green::Popen.communicate: " + name() + " did not finish within " +
                              std::to_string(*timeout) + " s; it is still running (a timeout kills nothing): " +
                              "call communicate() again or kill() it",
                          *timeout);
  };
  try {
    const std::vector<GreenletRef> done = joinall(work, timeout);
    if (done.size() < work.size()) {
      killall(work);
      throw expired();
    }
  } catch (...) {
    killall(work);  // our own greenlets never outlive this call (a kill or Timeout here)
    throw;
  }
  for (const GreenletRef& g : work) g.get();
  std::optional<double> left;
  if (timeout) left = std::max(0.0, *timeout - (monotonic() - start));
  try {
    wait(left);
  } catch (const TimeoutExpired&) {
    throw expired();
  }
  input_.reset();
  written_ = 0;
  return {std::exchange(out_buf_, {}), std::exchange(err_buf_, {})};
}

namespace {
std::pair<std::string, std::string> run(Popen& p, std::optional<double> timeout) {
  try {
    return p.communicate({}, timeout);
  } catch (const TimeoutExpired& e) {
    p.kill();
    p.wait();
    throw TimeoutExpired("green::check_output/call: '" + p.args()[0] + "' (pid " + std::to_string(p.pid()) +
                             ") did not finish within " + std::to_string(e.timeout()) + " s, so it was killed",
                         e.timeout());
  }
}
}  // namespace

std::string check_output(std::vector<std::string> argv, std::optional<double> timeout, PopenOptions options) {
  options.std_out = Stdio::pipe;
  Popen p(std::move(argv), std::move(options));
  auto [out, err] = run(p, timeout);
  const int code = *p.returncode();
  if (code != 0) {
    std::string what = "green::check_output: '" + p.args()[0] + "' ";
    what += code > 0 ? "exited with status " + std::to_string(code) : "was killed by signal " + std::to_string(-code);
    throw CalledProcessError(what, code, std::move(out), std::move(err));
  }
  return out;
}

int call(std::vector<std::string> argv, std::optional<double> timeout, PopenOptions options) {
  Popen p(std::move(argv), std::move(options));
  run(p, timeout);
  return *p.returncode();
}

}  // namespace green
