// green/signal.hpp: run a greenlet when a signal arrives (gevent.signal_handler).
//
// signal_handler(signum, callback) watches `signum` on the calling thread's hub: each time
// it arrives, callback() runs in a new greenlet, so it may block (stop a server, join
// workers). The watcher does not keep the hub alive: waiting only for a signal with
// nothing else to do is a LoopExit, as in gevent. Signals are process-wide, and one
// signal number can be watched by one hub (OS thread) at a time.
//
// The returned SignalHandler owns the registration: destroying it, or cancel(), restores
// the default disposition once no handler for the signal remains. Destroy it on the
// thread that created it. SIGKILL and SIGSTOP cannot be handled (std::invalid_argument).
#pragma once

#include <functional>
#include <memory>

namespace green {

class Hub;

class SignalHandler {
 public:
  SignalHandler() noexcept;
  SignalHandler(SignalHandler&&) noexcept;
  SignalHandler& operator=(SignalHandler&&) noexcept;
  ~SignalHandler();

  void cancel() noexcept;
  bool active() const noexcept { return static_cast<bool>(watch_); }
  int signum() const noexcept;

 private:
  friend SignalHandler signal_handler(int, std::function<void()>);
  struct Watch;
  std::unique_ptr<Watch> watch_;
};

SignalHandler signal_handler(int signum, std::function<void()> callback);

}  // namespace green
