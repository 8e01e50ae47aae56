// green/subprocess.hpp: child processes whose pipes and exit are waited for cooperatively
// (Python's subprocess / gevent.subprocess).
//
// Popen starts argv[0] (searched in PATH) with each of stdin/stdout/stderr inherited, a
// pipe, /dev/null, or (stderr only) merged into stdout. The child is created with a pidfd
// (clone3 CLONE_PIDFD), and everything about its exit goes through that pidfd: wait()
// waits for the pidfd to become readable and reaps exactly this child with
// waitid(P_PIDFD). No SIGCHLD handler and no waitpid(-1) are involved, so green never
// steals the exit status of a child it did not start.
//
// A timeout kills nothing: wait(timeout) and communicate(input, timeout) throw
// TimeoutExpired, the child keeps running, and the call can be repeated (communicate
// keeps what it had read and written so far, and
// the input of its first call). check_output() and call() follow Python:
// on timeout they kill the child, reap it, then throw. returncode is the exit status, or
// -N when signal N ended the child.
//
// The destructor closes the pipes and reaps the child if it has exited; a child still
// running is left running (as Python does).
#pragma once

#include <sys/types.h>

#include <csignal>

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace green {

enum class Stdio { inherit, pipe, devnull, to_stdout /* stderr only: 2>&1 */ };

struct PopenOptions {
  Stdio std_in = Stdio::inherit;
  Stdio std_out = Stdio::inherit;
  Stdio std_err = Stdio::inherit;
  std::string cwd{};                                // empty: the parent's
  std::optional<std::vector<std::string>> env{};    // "KEY=VALUE"; nullopt: the parent's
};

// The child did not finish in time; nothing was killed (see check_output for the exception).
class TimeoutExpired : public std::runtime_error {
 public:
  TimeoutExpired(const std::string& what, double timeout) : std::runtime_error(what), timeout_(timeout) {}
  double timeout() const noexcept { return timeout_; }

 private:
  double timeout_;
};

// check_output: the child exited with a non-zero status (or was killed by a signal).
class CalledProcessError : public std::runtime_error {
 public:
  CalledProcessError(const std::string& what, int returncode, std::string output, std::string error_output)
      : std::runtime_error(what), returncode_(returncode), output_(std::move(output)), stderr_(std::move(error_output)) {}
  int returncode() const noexcept { return returncode_; }
  const std::string& output() const noexcept { return output_; }
  const std::string& error_output() const noexcept { return stderr_; }

 private:
  int returncode_;
  std::string output_;
  std::string stderr_;
};

class Popen {
 public:
  // std::invalid_argument for an empty argv; std::system_error naming the program when it
  // cannot be started (not found, not executable, bad cwd).
  explicit Popen(std::vector<std::string> argv, PopenOptions options = {});
  Popen(Popen&& other) noexcept;
  Popen& operator=(Popen&&) = delete;
  Popen(const Popen&) = delete;
  Popen& operator=(const Popen&) = delete;
  ~Popen();

  pid_t pid() const noexcept { return pid_; }
  // Set once the child has been reaped.
  std::optional<int> returncode() const noexcept { return returncode_; }
  // Reaps the child if it has exited, without waiting.
  std::optional<int> poll();
  // Waits for the child to exit; TimeoutExpired (the child keeps running) on timeout.
  int wait(std::optional<double> timeout = {});
  // Writes `input` to stdin (then closes it), reads stdout and stderr until EOF, and waits
  // for the exit. Returns {stdout, stderr} (empty for streams that are not pipes).
  std::pair<std::string, std::string> communicate(std::string_view input = {}, std::optional<double> timeout = {});

  // No effect once the child has been reaped.
  void send_signal(int signum);
  void terminate() { send_signal(SIGTERM); }
  void kill() { send_signal(SIGKILL); }

  // The parent's ends of the pipes (non-blocking; -1 when not a pipe). Use with
  // green::wait_read / wait_write, or through communicate().
  int stdin_fd() const noexcept { return in_; }
  int stdout_fd() const noexcept { return out_; }
  int stderr_fd() const noexcept { return err_; }
  // Closes the child's stdin (it sees EOF).
  void close_stdin() noexcept;
  const std::vector<std::string>& args() const noexcept { return argv_; }

 private:
  std::string name() const;
  bool reap(bool block);

  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  std::optional<int> returncode_;
  // communicate()'s progress, kept across a timeout.
  std::optional<std::string> input_;  // the first call's input; later calls continue it
  std::size_t written_ = 0;
  std::string out_buf_, err_buf_;
};

// Runs argv and returns its stdout; CalledProcessError for a non-zero exit. On timeout the
// child is killed and reaped, then TimeoutExpired is thrown.
std::string check_output(std::vector<std::string> argv, std::optional<double> timeout = {}, PopenOptions options = {});
// Runs argv and returns its returncode; on timeout kills, reaps, throws TimeoutExpired.
int call(std::vector<std::string> argv, std::optional<double> timeout = {}, PopenOptions options = {});

}  // namespace green
