#include "green/timer.hpp"

#include <cstdio>
#include <stdexcept>

namespace green {

Timer::Timer(double interval, std::function<void()> fn) {
  if (!(interval >= 0))
    throw std::invalid_argument("green::Timer: interval must be >= 0, got " + detail::format_seconds(interval));
  if (!fn) throw std::invalid_argument("green::Timer: the function is empty");
  state_ = std::make_shared<State>(interval, std::move(fn));
}

void Timer::start() {
  if (greenlet_) throw std::logic_error("green::Timer::start: a timer can be started only once");
  greenlet_ = spawn(SpawnOptions{.name = "Timer"}, [state = state_] {
    struct Finish {
      State& state;
      ~Finish() {
        state.finished.set();
        state.fn = nullptr;  // what it captured dies with the call, not with the last handle
      }
    } finish{*state};
    if (state->finished.wait(state->interval)) return;
    // Like threading.excepthook: report it here, whether or not somebody joins the timer.
    try {
      state->fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "green: the function of a Timer threw: %s\n", e.what());
    } catch (const GreenletExit&) {
      throw;
    } catch (...) {
      std::fprintf(stderr, "green: the function of a Timer threw an exception not derived from std::exception\n");
    }
  });
}

void Timer::cancel() noexcept { state_->finished.set(); }

bool Timer::join(std::optional<double> timeout) const { return !greenlet_ || greenlet_.join(timeout); }

bool Timer::is_alive() const noexcept { return greenlet_ && !greenlet_.dead(); }

}  // namespace green
