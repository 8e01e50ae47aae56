#include "green/server.hpp"

#include <cstdio>
#include <stdexcept>

#include "green/hub.hpp"

namespace green {

StreamServer::StreamServer(Address address, Handler handler, std::size_t max_connections)
    : address_(address), handler_(std::move(handler)), pool_(max_connections > 0 ? max_connections : 1) {
  if (!handler_) throw std::invalid_argument("green::StreamServer: the handler is empty");
  if (max_connections == 0) throw std::invalid_argument("green::StreamServer: max_connections must be >= 1");
}

StreamServer::StreamServer(Socket listener, Handler handler, std::size_t max_connections)
    : StreamServer(listener.getsockname(), std::move(handler), max_connections) {
  listener_ = std::move(listener);
}

StreamServer::~StreamServer() {
  if (started_ && !stopped_.is_set()) {
    try {
      stop(0.0);
    } catch (...) {
      // A destructor cannot report more than stop() already printed.
    }
  }
}

Address StreamServer::address() const { return listener_ ? listener_.getsockname() : address_; }

void StreamServer::start() {
  if (started_) throw std::logic_error("green::StreamServer.start: the server was already started");
  if (!listener_) {
    Socket s(address_.family(), SOCK_STREAM);
    if (address_.family() != AF_UNIX) s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    if (reuse_port_) s.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
    s.bind(address_);
    listener_ = std::move(s);
  }
  // listen() on a socket that is already listening only updates its backlog.
  listener_.listen(backlog_);
  address_ = listener_.getsockname();
  started_ = true;
  acceptor_ = spawn(SpawnOptions{"StreamServer.accept " + address_.to_string()}, [this] { accept_loop(); });
}

void StreamServer::serve_forever() {
  if (!started_) start();
  try {
    stopped_.wait();
  } catch (...) {
    stop(0.0);
    throw;
  }
}

void StreamServer::accept_loop() {
  for (;;) {
    pool_.wait_available();
    if (stopping_) return;
    Socket conn;
    Address peer;
    try {
      auto accepted = listener_.accept();
      conn = std::move(accepted.first);
      peer = accepted.second;
    } catch (const std::system_error& e) {
      if (stopping_) return;
      // EMFILE, ENOBUFS...: report, let handlers free descriptors, try again.
      std::fprintf(stderr, "green::StreamServer %s: %s\n", address_.to_string().c_str(), e.what());
      green::sleep(0.05);
      continue;
    }
    pool_.spawn([this, conn = std::move(conn), peer]() mutable { run_handler(conn, peer); });
  }
}

void StreamServer::run_handler(Socket& accepted, const Address& peer) {
  // On this greenlet's stack, on a line of its own: the hot part of the Socket is then one
  // cache line (in the spawned closure it would straddle two), read at every recv and send.
  alignas(64) Socket conn = std::move(accepted);
  try {
    handler_(conn, peer);
  } catch (const GreenletExit&) {
    throw;
  } catch (...) {
    report(peer, std::current_exception());
  }
}

void StreamServer::report(const Address& peer, std::exception_ptr error) noexcept {
  try {
    if (on_error_) {
      on_error_(peer, error);
      return;
    }
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    std::fprintf(stderr, "green::StreamServer %s: the handler for %s failed: %s\n", address_.to_string().c_str(),
                 peer.to_string().c_str(), what.c_str());
  } catch (...) {
    std::fprintf(stderr, "green::StreamServer %s: the error handler failed\n", address_.to_string().c_str());
  }
}

void StreamServer::stop(std::optional<double> timeout) {
  if (!started_ || stopping_) {
    stopped_.set();
    return;
  }
  stopping_ = true;
  const GreenletRef self = getcurrent();
  if (acceptor_ && !(acceptor_ == self)) acceptor_.kill();
  listener_.close();
  // Running handlers get `timeout` to finish; the one calling stop() is left alone.
  if (pool_.contains(self)) pool_.discard(self);
  if (!pool_.join(timeout)) pool_.kill();
  stopped_.set();
}

}  // namespace green
