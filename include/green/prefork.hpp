// green/prefork.hpp: n worker processes, each with its own hub, serving one port; the
// parent supervises them (gunicorn's arbiter, with green's StreamServer in every worker).
//
// PreforkServer(processes, address, handler, max_connections): start() binds and listens
// in the parent (port 0: the kernel picks; address() tells which; Unix paths work too),
// then forks `processes` children. Each child serves the inherited listening socket with a
// StreamServer(handler, max_connections) on a fresh hub: the kernel hands each new
// connection to one child that waits in accept, and a child whose pool is full stops
// accepting, so the others take the load. With set_reuse_port(true), each child listens
// on its own SO_REUSEPORT socket instead (an even spread; see there). A handler's exception is reported (stderr, or
// set_error_handler's callback, run in the child) and the child keeps serving.
//
// Children are forked from a short-lived OS thread of their own, so a child holds nothing
// of the parent's greenlets: only its server runs there. It stops gracefully (stops
// accepting, gives handlers child_stop_timeout seconds, exits 0) on SIGTERM or SIGINT, and
// when the parent dies (it watches a pipe whose write end only the parent holds), so no
// worker outlives its supervisor. A child never returns into the caller's code: it ends
// with _exit, without running static destructors or atexit handlers. As with any fork, a
// child inherits the parent's open descriptors (log files stay usable; a connection the
// parent opened before the fork stays open until the children end too).
//
// The parent watches each child through a pidfd, from a greenlet of the hub that called
// start(): a child that ends while the server is not stopping is reported (stderr, or
// set_child_exit_handler's callback) and replaced by a new one, after a second's pause if
// it lived less than a second (a crash loop does not become a fork loop).
//
// serve_forever() starts if needed and blocks (cooperatively) until stop(), then returns
// every child's exit status, by slot: the exit code, or minus the signal number that
// ended it (Popen's returncode). stop(timeout) sends SIGTERM to every child, waits up to
// `timeout` seconds for them to exit, then SIGKILLs the rest and reaps them; call it from
// a greenlet of the parent's hub (the one that called start()). Idempotent. The destructor
// stops with a zero timeout.
//
// serve_prefork(processes, address, handler, max_connections) is the one-liner: it serves
// until the parent gets SIGINT or SIGTERM, stops the children (forwarding SIGTERM) and
// returns their statuses.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

#include "green/event.hpp"
#include "green/greenlet.hpp"
#include "green/server.hpp"
#include "green/socket.hpp"

namespace green {

class PreforkServer {
 public:
  // Called in the parent when a child ends while the server is not stopping: its slot,
  // pid and status (exit code, or minus the signal number).
  using ChildExitHandler = std::function<void(int slot, pid_t pid, int status)>;

  // std::invalid_argument for processes < 1, an empty handler or max_connections == 0.
  PreforkServer(int processes, Address address, StreamServer::Handler handler, std::size_t max_connections = 10000);
  PreforkServer(const PreforkServer&) = delete;
  PreforkServer& operator=(const PreforkServer&) = delete;
  ~PreforkServer();

  // Binds and listens, forks the children and waits until each one accepts, starts
  // watching them. std::logic_error if started twice; std::system_error if the bind or a
  // fork fails.
  void start();
  std::vector<int> serve_forever();
  void stop(std::optional<double> timeout = 5.0);

  Address address() const;
  int processes() const noexcept { return static_cast<int>(children_.size()); }
  // The live children's pids, by slot (0 for a slot being restarted).
  std::vector<pid_t> pids() const;
  // Children started to replace ones that ended.
  std::size_t restarts() const noexcept { return restarts_; }
  bool started() const noexcept { return started_; }
  bool closed() const noexcept { return stopped_.is_set(); }

  // Set before start(). The error handler and timeouts are used in the children.
  void set_backlog(int backlog) { backlog_ = backlog; }
  void set_error_handler(StreamServer::ErrorHandler on_error) { on_error_ = std::move(on_error); }
  void set_child_exit_handler(ChildExitHandler on_exit) { on_child_exit_ = std::move(on_exit); }
  // How long a stopping child gives its handlers (default 1 s).
  void set_child_stop_timeout(double seconds);
  // Each worker listens on a socket of its own, bound to the same port with SO_REUSEPORT
  // (TCP only), instead of sharing the parent's: the kernel then spreads connections
  // evenly by hash, where a shared socket lets whichever worker wakes first take a burst.
  // The parent keeps the port bound (not listening). Connections queued in a worker that
  // dies are reset, unless sysctl net.ipv4.tcp_migrate_req=1 hands them to the others.
  void set_reuse_port(bool on) { reuse_port_ = on; }

 private:
  struct Child {
    pid_t pid = 0;
    int pidfd = -1;
    double started_at = 0;
    std::optional<int> status;
    GreenletRef watcher;
  };

  void spawn_child(int slot);
  [[noreturn]] void child_main(int ready_fd) noexcept;
  void watch(int slot);
  void report_exit(int slot, pid_t pid, int status) noexcept;
  void signal_children(int signum) noexcept;

  Address address_;
  StreamServer::Handler handler_;
  StreamServer::ErrorHandler on_error_;
  ChildExitHandler on_child_exit_;
  std::size_t max_connections_;
  int backlog_ = 1024;
  bool reuse_port_ = false;
  double child_stop_timeout_ = 1.0;
  Socket listener_;
  int parent_alive_[2] = {-1, -1};  // a pipe: children see EOF on [0] when the parent is gone
  std::vector<Child> children_;
  std::size_t restarts_ = 0;
  bool started_ = false;
  bool stopping_ = false;
  Event stop_requested_;
  Event stopped_;
};

// Serves `handler` from `processes` child processes until this process gets SIGINT or
// SIGTERM, then stops them and returns their exit statuses by slot. Needs both signals
// free on this thread's hub (see signal.hpp).
std::vector<int> serve_prefork(int processes, Address address, StreamServer::Handler handler,
                               std::size_t max_connections = 10000);

}  // namespace green
