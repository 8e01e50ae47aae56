#include "green/hub_thread.hpp"

#include <pthread.h>

#include <stdexcept>

namespace green {

HubThread::HubThread(std::string name) {
  AsyncResult<Hub*> hub;
  {
    detail::RealThreadScope real;  // a core to run on, even under green-run --threads
    thread_ = std::thread([this, hub, name = std::move(name)]() mutable {
      pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
      hub.set(&get_hub());
      main();
    });
  }
  hub_ = hub.get();
}

HubThread::~HubThread() {
  try {
    stop();
  } catch (...) {
    // Killed while waiting cooperatively: wait for real instead, the thread uses *this.
    if (thread_.joinable()) thread_.join();
  }
}

void HubThread::main() {
  stop_requested_.wait();
  // Every task submitted before the stop request was posted before it and has started.
  while (running_ > 0) {
    idle_.clear();
    idle_.wait();
  }
  finished_.set();
}

void HubThread::submit(std::function<void()> task) {
  std::lock_guard guard(submit_mutex_);
  if (stopping_) throw std::logic_error("green::HubThread::spawn: the thread was stopped");
  hub_->call_threadsafe([this, task = std::move(task)] {
    ++running_;
    green::spawn([this, task] {
      struct Done {
        HubThread& self;
        ~Done() {
          if (--self.running_ == 0) self.idle_.set();
        }
      } done{*this};
      task();
    });
  });
}

void HubThread::stop() {
  if (thread_.get_id() == std::this_thread::get_id())
    throw std::logic_error("green::HubThread::stop: called from the thread it would stop");
  {
    std::lock_guard guard(submit_mutex_);
    if (!stopping_) {
      stopping_ = true;
      stop_requested_.set();
    }
  }
  if (!thread_.joinable()) return;
  finished_.wait();  // cooperatively: the caller's hub keeps running meanwhile
  thread_.join();
}

namespace detail {
void run_threads(int count, const std::function<void(int)>& body) {
  if (count <= 0) throw std::invalid_argument("green::run_in_threads: count must be > 0, got " + std::to_string(count));
  std::vector<AsyncResult<void>> done(static_cast<std::size_t>(count));
  std::vector<std::thread> threads;
  threads.reserve(done.size());
  auto join_all = [&] {
    for (auto& t : threads) t.join();
  };
  try {
    RealThreadScope real;
    for (int i = 0; i < count; ++i)
      threads.emplace_back([&body, result = done[static_cast<std::size_t>(i)], i] {
        body(i);
        result.set();
      });
  } catch (...) {
    join_all();  // they use this frame
    throw;
  }
  try {
    for (std::size_t i = 0; i < threads.size(); ++i) done[i].wait();
  } catch (...) {
    join_all();
    throw;
  }
  join_all();
}
}  // namespace detail

}  // namespace green
