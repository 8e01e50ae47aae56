#include "green/server_threads.hpp"

#include <sys/socket.h>

#include <csignal>
#include <stdexcept>
#include <string>
#include <thread>

#include "green/signal.hpp"

namespace green {

ServerThreads::ServerThreads(int threads, Address address, StreamServer::Handler handler, std::size_t max_connections)
    : threads_(threads), address_(address), handler_(std::move(handler)), max_connections_(max_connections) {
  if (threads < 1)
    throw std::invalid_argument("green::ServerThreads: threads must be >= 1, got " + std::to_string(threads));
  if (!handler_) throw std::invalid_argument("green::ServerThreads: the handler is empty");
  if (max_connections == 0) throw std::invalid_argument("green::ServerThreads: max_connections must be >= 1");
  if (address.family() != AF_INET && address.family() != AF_INET6)
    throw std::invalid_argument("green::ServerThreads: " + address.to_string() +
                                " is not a TCP address (SO_REUSEPORT needs one; PreforkServer takes any)");
}

ServerThreads::~ServerThreads() {
  request_stop(0.0);  // threads still waiting for the request would never end
  if (started_ && !finished_.is_set() && !on_own_thread()) {
    try {
      finish();
    } catch (...) {
      // Killed while waiting: the HubThreads below wait for real.
    }
  }
  hub_threads_.clear();  // joins; their servers use this object until then
}

void ServerThreads::start() {
  if (started_) throw std::logic_error("green::ServerThreads.start: already started");
  // Every socket listens before any thread starts: a bind error surfaces here, and port 0
  // is resolved once, by the first bind.
  std::vector<std::shared_ptr<Socket>> listeners;
  Address bind_to = address_;
  for (int i = 0; i < threads_; ++i) {
    auto s = std::make_shared<Socket>(bind_to.family(), SOCK_STREAM);
    s->setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    s->setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
    s->bind(bind_to);
    s->listen(backlog_);
    if (i == 0) bind_to = s->getsockname();
    listeners.push_back(std::move(s));
  }
  address_ = bind_to;
  started_ = true;
  struct StartDone {
    Event& done;
    ~StartDone() { done.set(); }
  } start_done{start_done_};
  try {
    for (int i = 0; i < threads_; ++i) {
      hub_threads_.push_back(std::make_unique<HubThread>("green-serve-" + std::to_string(i)));
      // HubThread tasks must be copyable: the socket travels in a shared_ptr.
      served_.push_back(hub_threads_.back()->spawn([this, listener = listeners[i]] { serve_one(std::move(*listener)); }));
    }
  } catch (...) {
    request_stop(0.0);
    throw;
  }
}

void ServerThreads::serve_one(Socket listener) {
  try {
    StreamServer server(std::move(listener), handler_, max_connections_);
    if (on_error_) server.set_error_handler(on_error_);
    server.set_backlog(backlog_);
    server.start();
    stop_requested_.wait();
    std::optional<double> timeout;
    {
      std::lock_guard guard(stop_mutex_);
      timeout = stop_timeout_;
    }
    server.stop(timeout);
  } catch (...) {
    request_stop(0.0);  // one server failed: serve_forever reports it once all have stopped
    throw;
  }
}

void ServerThreads::request_stop(std::optional<double> timeout) noexcept {
  std::lock_guard guard(stop_mutex_);
  if (stop_requested_.is_set()) return;
  stop_timeout_ = timeout;
  stop_requested_.set();
}

bool ServerThreads::on_own_thread() const noexcept {
  for (const auto& t : hub_threads_)
    if (t->thread_id() == std::this_thread::get_id()) return true;
  return false;
}

void ServerThreads::finish() {
  if (finishing_.exchange(true)) {
    finished_.wait();  // another caller joins the threads
    return;
  }
  try {
    for (auto& served : served_) {
      served.wait(std::nullopt);
      if (!served.successful() && !error_) error_ = served.exception();
    }
    for (auto& t : hub_threads_) t->stop();
  } catch (...) {
    finishing_ = false;  // killed while waiting: the next caller (or the destructor) finishes
    throw;
  }
  finished_.set();
}

void ServerThreads::serve_forever() {
  if (on_own_thread())
    throw std::logic_error("green::ServerThreads.serve_forever: called from one of the servers' own threads");
  if (!started_) start();
  try {
    finish();
  } catch (...) {
    request_stop(0.0);
    finish();
    throw;
  }
  if (error_) std::rethrow_exception(error_);
}

void ServerThreads::stop(std::optional<double> timeout) {
  request_stop(timeout);
  if (!started_) {
    finished_.set();
    return;
  }
  start_done_.wait();  // the threads asked to stop are all there to be waited for
  if (on_own_thread()) return;  // a handler: its own server is among those that must stop
  finish();
}

void serve_in_threads(int threads, Address address, StreamServer::Handler handler, std::size_t max_connections) {
  // Shared with the signal callbacks, whose greenlets may run after this returns.
  auto servers = std::make_shared<ServerThreads>(threads, address, std::move(handler), max_connections);
  SignalHandler on_int = signal_handler(SIGINT, [servers] { servers->stop(); });
  SignalHandler on_term = signal_handler(SIGTERM, [servers] { servers->stop(); });
  servers->serve_forever();
}

}  // namespace green
