// green/server.hpp: a TCP (or Unix stream) server that runs each connection in its own
// greenlet (gevent.server.StreamServer).
//
// StreamServer(address, handler, max_connections): start() binds and listens (port 0: the
// kernel picks a free port, and address() tells which), then accepts in a greenlet of its
// own and returns. Each connection runs handler(socket, peer) in a new greenlet of the
// server's Pool(max_connections); the socket is closed when the handler returns. When the
// pool is full the server stops accepting (the kernel's backlog holds new connections)
// until a handler ends. A handler's exception is reported on stderr with the peer's address (or given to
// set_error_handler's callback) and the server keeps serving; accept errors such as EMFILE
// are reported and retried after a short pause.
//
// serve_forever() starts the server if needed and blocks until stop(); if the greenlet in
// serve_forever is killed, the server is stopped. stop(timeout) stops accepting and closes
// the listening socket, gives running handlers up to `timeout` seconds to finish, then
// kills the rest and waits for them. stop() may be called from a handler (that handler is
// neither waited for nor killed) and from any greenlet of the server's hub. The destructor
// stops the server with a zero timeout.
//
// Every core: set_reuse_port(true) lets n servers on n hubs share a port (ServerThreads in
// server_threads.hpp does it for you); PreforkServer (prefork.hpp) serves from n processes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>

#include "green/event.hpp"
#include "green/greenlet.hpp"
#include "green/pool.hpp"
#include "green/socket.hpp"

namespace green {

class StreamServer {
 public:
  using Handler = std::function<void(Socket&, const Address&)>;
  using ErrorHandler = std::function<void(const Address& peer, std::exception_ptr error)>;

  // std::invalid_argument for an empty handler or max_connections == 0.
  StreamServer(Address address, Handler handler, std::size_t max_connections = 10000);
  // Serves on a socket that is already bound (and maybe listening).
  StreamServer(Socket listener, Handler handler, std::size_t max_connections = 10000);
  StreamServer(const StreamServer&) = delete;
  StreamServer& operator=(const StreamServer&) = delete;
  ~StreamServer();

  // Binds and listens if needed, then starts accepting. std::logic_error if started twice.
  void start();
  void serve_forever();
  // Idempotent. `timeout` for running handlers to finish before they are killed.
  void stop(std::optional<double> timeout = 1.0);

  // The bound address, with the real port once started.
  Address address() const;
  bool started() const noexcept { return started_; }
  bool closed() const noexcept { return stopped_.is_set(); }
  // Handlers running now.
  std::size_t connection_count() const noexcept { return pool_.count(); }
  std::size_t max_connections() const noexcept { return pool_.size(); }
  Pool& pool() noexcept { return pool_; }
  // Replaces the default report (a line on stderr) of handler exceptions.
  void set_error_handler(ErrorHandler on_error) { on_error_ = std::move(on_error); }
  // Listen backlog used by start() (default 1024).
  void set_backlog(int backlog) { backlog_ = backlog; }
  // SO_REUSEPORT for the socket start() binds (default off): several servers, on several
  // hubs or processes, then listen on the same port and the kernel spreads new connections
  // over them. Any process of the same user may join the port: use it on ports you own.
  void set_reuse_port(bool on) { reuse_port_ = on; }

 private:
  void accept_loop();
  void run_handler(Socket& conn, const Address& peer);
  void report(const Address& peer, std::exception_ptr error) noexcept;

  Address address_;
  Socket listener_;
  Handler handler_;
  ErrorHandler on_error_;
  int backlog_ = 1024;
  bool reuse_port_ = false;
  bool started_ = false;
  bool stopping_ = false;
  GreenletRef acceptor_;
  Pool pool_;
  Event stopped_;
};

}  // namespace green
