// green/server_threads.hpp: one StreamServer per hub on n OS threads, all on one port.
//
// ServerThreads(threads, address, handler, max_connections): start() creates `threads`
// listening TCP sockets bound to `address` with SO_REUSEPORT (port 0: the first one gets a
// free port from the kernel and the others bind that port; address() tells which), starts
// `threads` HubThreads and runs a StreamServer on each. The kernel spreads new connections
// over the sockets (a hash of the peer's address and port), so every core accepts and
// serves; a connection stays on the thread that accepted it, in a greenlet of that
// thread's hub. One handler object serves every thread: what it shares between connections
// must be safe across threads (std::mutex, std::atomic, or green's Event, AsyncResult and
// queues, which are). max_connections, the backlog and the error handler apply per thread.
//
// serve_forever() starts if needed and blocks (cooperatively) until stop(). stop(timeout)
// may be called from any OS thread and any greenlet: every server stops accepting, gives
// its handlers `timeout` seconds, kills the rest, and the threads end; stop() returns when
// they have. Called from one of the servers' own threads (a handler), stop() only asks
// and returns: the handler that asked gets `timeout` like the others. Idempotent. The
// destructor stops with a zero timeout.
//
// serve_in_threads(threads, address, handler, max_connections) is the one-liner: it serves
// until SIGINT or SIGTERM (signal_handler on the calling thread's hub), then stops.
//
// Unix-domain addresses are refused (std::invalid_argument): SO_REUSEPORT is for TCP; a
// PreforkServer (prefork.hpp) shares one listening socket of any family instead.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "green/async_result.hpp"
#include "green/event.hpp"
#include "green/hub_thread.hpp"
#include "green/server.hpp"
#include "green/socket.hpp"

namespace green {

class ServerThreads {
 public:
  // std::invalid_argument for threads < 1, an empty handler, max_connections == 0, or a
  // Unix-domain address.
  ServerThreads(int threads, Address address, StreamServer::Handler handler, std::size_t max_connections = 10000);
  ServerThreads(const ServerThreads&) = delete;
  ServerThreads& operator=(const ServerThreads&) = delete;
  ~ServerThreads();

  // Binds and listens on every socket (std::system_error, e.g. EADDRINUSE, before any
  // thread starts), then starts the threads; returns once every server accepts.
  // std::logic_error if started twice.
  void start();
  void serve_forever();
  void stop(std::optional<double> timeout = 1.0);

  // The bound address, with the real port once started.
  Address address() const { return address_; }
  int threads() const noexcept { return threads_; }
  bool started() const noexcept { return started_; }
  bool closed() const noexcept { return finished_.is_set(); }
  // Set before start(); they apply to every thread's server.
  void set_backlog(int backlog) { backlog_ = backlog; }
  void set_error_handler(StreamServer::ErrorHandler on_error) { on_error_ = std::move(on_error); }

 private:
  void serve_one(Socket listener);
  void request_stop(std::optional<double> timeout) noexcept;
  bool on_own_thread() const noexcept;
  void finish();

  int threads_;
  Address address_;
  StreamServer::Handler handler_;
  StreamServer::ErrorHandler on_error_;
  std::size_t max_connections_;
  int backlog_ = 1024;
  bool started_ = false;
  // Set when start() has created every thread (or failed): start() waits for each thread's
  // hub to come up, and a stop() running meanwhile (a signal handler) must not walk the
  // vectors below while they still grow.
  Event start_done_;
  std::vector<std::unique_ptr<HubThread>> hub_threads_;
  std::vector<AsyncResult<void>> served_;  // one per thread: its server ran and stopped
  std::mutex stop_mutex_;                  // orders stop_timeout_ before stop_requested_
  std::optional<double> stop_timeout_;
  Event stop_requested_;
  std::atomic<bool> finishing_{false};  // one caller joins the threads, the others wait
  Event finished_;
  std::exception_ptr error_;  // the first server failure, rethrown by serve_forever
};

// Serves `handler` on `threads` threads until SIGINT or SIGTERM, then stops them (giving
// handlers a second). Needs both signals free on this thread's hub (see signal.hpp).
void serve_in_threads(int threads, Address address, StreamServer::Handler handler,
                      std::size_t max_connections = 10000);

}  // namespace green
