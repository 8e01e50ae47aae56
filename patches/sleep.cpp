// The sleep family: sleep, usleep, nanosleep, clock_nanosleep.
//
// Inside a greenlet these suspend only the greenlet. A kill or Timeout arriving during the
// sleep interrupts it the way a signal would (EINTR, or the unslept seconds for sleep())
// and is raised at the greenlet's next green:: blocking call. Sleeps made while such an
// exception is still pending really sleep (cooperatively): EINTR-retry loops such as
// std::this_thread::sleep_for's then keep their pace instead of spinning.
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include <cmath>

#include "config.hpp"
#include "green/hub.hpp"
#include "real.hpp"

namespace green::patch {
namespace {

constexpr long kNanos = 1'000'000'000L;

bool valid(const timespec* t) { return t != nullptr && t->tv_sec >= 0 && t->tv_nsec >= 0 && t->tv_nsec < kNanos; }

double to_seconds(const timespec& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9; }

timespec from_seconds(double seconds) {
  if (seconds <= 0) return {0, 0};
  timespec t;
  t.tv_sec = static_cast<time_t>(seconds);
  t.tv_nsec = std::min(kNanos - 1, static_cast<long>((seconds - static_cast<double>(t.tv_sec)) * 1e9));
  return t;
}

double monotonic_now() {
  timespec t;
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return to_seconds(t);
}

// Sleeps `seconds` in the calling greenlet. Returns 0, or EINTR with the time left.
int green_sleep(GreenletBase& self, double seconds, double* left) noexcept {
  const double deadline = monotonic_now() + seconds;
  if (detail::has_deferred_exception(self)) {
    // Already interrupted once: sleep for real, keeping the exception for later.
    bool is_kill = false;
    std::exception_ptr kept = detail::take_deferred_exception(self, is_kill);
    try {
      green::sleep(seconds);
    } catch (...) {
    }
    detail::defer_exception(self, std::move(kept), is_kill);
    return 0;
  }
  try {
    green::sleep(seconds);
    return 0;
  } catch (const GreenletExit&) {
    detail::defer_exception(self, std::current_exception(), true);
  } catch (...) {
    detail::defer_exception(self, std::current_exception(), false);
  }
  if (left) *left = std::max(0.0, deadline - monotonic_now());
  return EINTR;
}

}  // namespace
}  // namespace green::patch

using green::patch::Family;

extern "C" {

unsigned int sleep(unsigned int seconds) {
  green::GreenletBase* self = green::patch::cooperative(Family::sleep);
  if (self == nullptr) return GREEN_REAL(sleep)(seconds);
  double left = 0;
  if (green::patch::green_sleep(*self, seconds, &left) == 0) return 0;
  return static_cast<unsigned int>(std::ceil(left));
}

int usleep(useconds_t usec) {
  green::GreenletBase* self = green::patch::cooperative(Family::sleep);
  if (self == nullptr) return GREEN_REAL(usleep)(usec);
  if (int err = green::patch::green_sleep(*self, usec / 1e6, nullptr)) {
    errno = err;
    return -1;
  }
  return 0;
}

int nanosleep(const struct timespec* request, struct timespec* remaining) {
  green::GreenletBase* self = green::patch::cooperative(Family::sleep);
  if (self == nullptr) return GREEN_REAL(nanosleep)(request, remaining);
  if (!green::patch::valid(request)) {
    errno = EINVAL;
    return -1;
  }
  double left = 0;
  if (int err = green::patch::green_sleep(*self, green::patch::to_seconds(*request), &left)) {
    if (remaining != nullptr) *remaining = green::patch::from_seconds(left);
    errno = err;
    return -1;
  }
  return 0;
}

int clock_nanosleep(clockid_t clock, int flags, const struct timespec* request, struct timespec* remaining) {
  green::GreenletBase* self = green::patch::cooperative(Family::sleep);
  if (self == nullptr) return GREEN_REAL(clock_nanosleep)(clock, flags, request, remaining);
  if (!green::patch::valid(request)) return EINVAL;
  double seconds = green::patch::to_seconds(*request);
  if (flags & TIMER_ABSTIME) {
    timespec now;
    if (::clock_gettime(clock, &now) != 0) return errno;
    seconds -= green::patch::to_seconds(now);
  }
  double left = 0;
  if (int err = green::patch::green_sleep(*self, std::max(0.0, seconds), &left)) {
    // POSIX: `remaining` is only written for relative sleeps.
    if (remaining != nullptr && !(flags & TIMER_ABSTIME)) *remaining = green::patch::from_seconds(left);
    return err;
  }
  return 0;
}

}  // extern "C"
