// Threads as greenlets under --threads: pthread_create spawns a greenlet on the calling OS
// thread's hub, and the other calls that take a pthread_t understand those ids.
//
// A green thread's pthread_t is the address of its record with the low bit set: glibc's
// own ids are addresses of aligned thread descriptors, so the two never collide and a
// call on a real thread (pthread_join of a thread green's workers started, say) passes
// through. Threads created inside a detail::RealThreadScope (green's own workers), before
// the calling thread has a hub, or by code that is not in a greenlet stay real threads.
//
// pthread_exit in a green thread unwinds only its greenlet, the way glibc does it: a forced
// unwind (destructors run, catch (...) must rethrow) that stops at the thread's first
// frame. Keys keep one value per greenlet; their destructors run when it ends.
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/single_threaded.h>
#include <unwind.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/thread_state.hpp"
#include "real.hpp"
#include "threads.hpp"

namespace gt = green::patch::threads;
using green::GreenletBase;
using green::GreenletRef;
using green::Waiter;

namespace green::patch::threads {
namespace {

struct GreenThread {
  GreenletRef greenlet;
  void* (*start)(void*) = nullptr;
  void* arg = nullptr;
  void* result = nullptr;
  pthread_t host = 0;        // the OS thread the greenlet runs on
  std::size_t stack_size = 0;
  bool adopted = false;      // a greenlet that pthread_create did not start (green::spawn)
  detail::SpinLock lock;     // guards the three flags below
  bool detached = false;
  bool finished = false;
  bool joining = false;
  char name[16] = {};
  std::vector<void*> values;  // pthread keys
  // pthread_exit: the forced unwind stops above exit_frame and jumps back to exit_jump.
  std::uintptr_t exit_frame = 0;
  jmp_buf exit_jump;
  _Unwind_Exception unwind;
};

pthread_t id_of(GreenThread* t) noexcept { return reinterpret_cast<pthread_t>(t) | 1; }
bool is_green_id(pthread_t id) noexcept { return (id & 1) != 0; }

// Every record alive, so an id can be checked before it is used (ESRCH, not a crash).
detail::SpinLock registry_lock;
std::unordered_set<GreenThread*>& registry() {
  static auto* set = new std::unordered_set<GreenThread*>();
  return *set;
}
std::atomic<long> live_threads{0};  // started by pthread_create, not yet finished

GreenThread* lookup(pthread_t id) noexcept {
  if (!is_green_id(id)) return nullptr;
  auto* t = reinterpret_cast<GreenThread*>(id & ~pthread_t{1});
  std::lock_guard guard(registry_lock);
  return registry().count(t) ? t : nullptr;
}

void destroy(GreenThread* t) noexcept {
  {
    std::lock_guard guard(registry_lock);
    registry().erase(t);
  }
  delete t;
}

// The record of each greenlet of this OS thread that has one.
std::unordered_map<const GreenletBase*, GreenThread*>& current_map() {
  static thread_local std::unordered_map<const GreenletBase*, GreenThread*> map;
  return map;
}

bool is_main_greenlet(const GreenletBase* g) noexcept {
  detail::ThreadState* ts = detail::ThreadState::get_if_exists();
  return ts != nullptr && ts->main == g;
}

// Key destructors, indexed by key (glibc's keys are below PTHREAD_KEYS_MAX).
std::atomic<void (*)(void*)> key_destructors[PTHREAD_KEYS_MAX];

void run_key_destructors(GreenThread* t) noexcept {
  for (int round = 0; round < PTHREAD_DESTRUCTOR_ITERATIONS; ++round) {
    bool any = false;
    for (std::size_t k = 0; k < t->values.size(); ++k) {
      void* value = t->values[k];
      auto destructor = key_destructors[k].load(std::memory_order_acquire);
      if (value == nullptr || destructor == nullptr) continue;
      t->values[k] = nullptr;
      destructor(value);
      any = true;
    }
    if (!any) break;
  }
}

// The record of the running greenlet; with `adopt`, one is made for a greenlet that has
// none (it lives until the greenlet dies). nullptr on the main greenlet (a real thread).
GreenThread* current(GreenletBase& self, bool adopt) {
  auto& map = current_map();
  if (auto it = map.find(&self); it != map.end()) return it->second;
  if (!adopt || is_main_greenlet(&self)) return nullptr;
  auto* t = new GreenThread;
  t->greenlet = GreenletRef(&self);
  t->adopted = true;
  t->detached = true;
  t->host = GREEN_REAL(pthread_self)();
  {
    std::lock_guard guard(registry_lock);
    registry().insert(t);
  }
  map[&self] = t;
  self.link([t](GreenletRef) {
    run_key_destructors(t);
    current_map().erase(t->greenlet.get_base());
    destroy(t);
  });
  return t;
}

GreenThread* current_or_null(GreenletBase* self) noexcept {
  if (self == nullptr) return nullptr;
  auto& map = current_map();
  auto it = map.find(self);
  return it == map.end() ? nullptr : it->second;
}

// ---- the body of a green thread ----

_Unwind_Reason_Code exit_stop(int, _Unwind_Action actions, _Unwind_Exception_Class, _Unwind_Exception*,
                              _Unwind_Context* context, void* param) {
  auto* t = static_cast<GreenThread*>(param);
  if ((actions & _UA_END_OF_STACK) || _Unwind_GetCFA(context) > t->exit_frame) longjmp(t->exit_jump, 1);
  return _URC_NO_REASON;
}

[[gnu::noinline]] void* call_start(GreenThread* t) {
  t->exit_frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  void* result = t->start(t->arg);
  asm volatile("" ::: "memory");  // keep this frame (no tail call): the unwind stops at it
  return result;
}

void finish_thread(GreenThread* t) noexcept {
  run_key_destructors(t);
  current_map().erase(t->greenlet.get_base());
  bool detached;
  {
    std::lock_guard guard(t->lock);
    t->finished = true;
    detached = t->detached;
  }
  live_threads.fetch_sub(1, std::memory_order_acq_rel);
  lot::wake(&live_threads, SIZE_MAX);
  if (detached) destroy(t);
}

void run_thread(GreenThread* t) {
  current_map()[t->greenlet.get_base()] = t;
  try {
    if (setjmp(t->exit_jump) == 0) t->result = call_start(t);
  } catch (const GreenletExit&) {
    t->result = PTHREAD_CANCELED;  // killed through green's API
  } catch (...) {
    finish_thread(t);
    throw;  // reported by green as the greenlet's unhandled exception
  }
  finish_thread(t);
}

std::size_t default_attr_stack_size() {
  static const std::size_t size = [] {
    pthread_attr_t attr;
    std::size_t s = 0;
    ::pthread_attr_init(&attr);
    ::pthread_attr_getstacksize(&attr, &s);
    ::pthread_attr_destroy(&attr);
    return s;
  }();
  return size;
}

std::atomic<unsigned long> thread_counter{0};

int create(pthread_t* out, const pthread_attr_t* attr, void* (*start)(void*), void* arg) noexcept {
  SpawnOptions options;
  bool detached = false;
  if (attr != nullptr) {
    std::size_t size = 0;
    // glibc reports its default (the stack rlimit) when no size was set: then green's
    // default applies (GREEN_STACK_SIZE, green-run --stack-size).
    if (::pthread_attr_getstacksize(attr, &size) == 0 && size != default_attr_stack_size())
      options.stack_size = size;
    int state = PTHREAD_CREATE_JOINABLE;
    ::pthread_attr_getdetachstate(attr, &state);
    detached = state == PTHREAD_CREATE_DETACHED;
  }
  GreenThread* t;
  try {
    t = new GreenThread;
  } catch (...) {
    return EAGAIN;
  }
  t->start = start;
  t->arg = arg;
  t->detached = detached;
  t->host = GREEN_REAL(pthread_self)();
  try {
    options.name = "Thread-" + std::to_string(thread_counter.fetch_add(1, std::memory_order_relaxed) + 1);
    {
      std::lock_guard guard(registry_lock);
      registry().insert(t);
    }
    auto g = green::spawn(options, [t] { run_thread(t); });
    t->greenlet = g;
    t->stack_size = g->stack_size();
  } catch (const std::invalid_argument&) {
    destroy(t);
    return EINVAL;
  } catch (...) {
    destroy(t);
    return EAGAIN;
  }
  live_threads.fetch_add(1, std::memory_order_acq_rel);
  // glibc clears this when a process makes its first thread, and libstdc++ reads it: with it
  // set, a static whose initialiser yields to another thread is taken for recursion.
  __libc_single_threaded = 0;
  *out = id_of(t);
  return 0;
}

// `self`: the joining greenlet, or nullptr for a caller that is not one.
int join(GreenletBase* self, GreenThread* t, void** result, const Deadline* deadline, bool try_only) noexcept {
  {
    std::lock_guard guard(t->lock);
    if (t->detached) return EINVAL;
    if (t->greenlet.get_base() == self) return EDEADLK;
    if (t->joining) return EINVAL;
    t->joining = true;
  }
  auto give_up = [t](int err) {
    std::lock_guard guard(t->lock);
    t->joining = false;
    return err;
  };
  GreenletBase& target = *t->greenlet.get_base();
  SavedErrno saved;
  while (!target.ready()) {
    if (try_only) return give_up(EBUSY);
    std::optional<double> timeout = seconds_left(deadline);
    if (timeout && *timeout <= 0) return give_up(ETIMEDOUT);
    if (self != nullptr) {
      Waiter w("pthread_join");
      if (!target.link_unless_ready(w)) break;
      block(*self, w, timeout);
    } else {
      // Not a greenlet: a real thread (or code before the hub) waits by polling; the
      // thread that runs the greenlet itself would wait forever.
      if (target.hub().is_current_thread()) return give_up(EDEADLK);
      const timespec pause{0, 1'000'000};
      GREEN_REAL(nanosleep)(&pause, nullptr);
    }
  }
  if (result != nullptr) *result = t->result;
  destroy(t);
  return 0;
}

}  // namespace
}  // namespace green::patch::threads

using gt::GreenThread;

extern "C" {

int pthread_create(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*), void* arg) noexcept {
  if (!gt::enabled() || green::detail::RealThreadScope::active() || GREEN_THREADS_SELF() == nullptr)
    return GREEN_REAL(pthread_create)(thread, attr, start, arg);
  return gt::create(thread, attr, start, arg);
}

int pthread_join(pthread_t thread, void** result) {
  if (!gt::is_green_id(thread)) return GREEN_REAL(pthread_join)(thread, result);
  GreenThread* t = gt::lookup(thread);
  return t == nullptr ? ESRCH : gt::join(GREEN_THREADS_SELF(), t, result, nullptr, false);
}

int pthread_tryjoin_np(pthread_t thread, void** result) noexcept {
  if (!gt::is_green_id(thread)) return GREEN_REAL(pthread_tryjoin_np)(thread, result);
  GreenThread* t = gt::lookup(thread);
  return t == nullptr ? ESRCH : gt::join(GREEN_THREADS_SELF(), t, result, nullptr, true);
}

int pthread_timedjoin_np(pthread_t thread, void** result, const struct timespec* abstime) {
  if (!gt::is_green_id(thread)) return GREEN_REAL(pthread_timedjoin_np)(thread, result, abstime);
  GreenThread* t = gt::lookup(thread);
  if (t == nullptr) return ESRCH;
  if (abstime == nullptr) return gt::join(GREEN_THREADS_SELF(), t, result, nullptr, false);
  if (!gt::valid_timespec(abstime)) return EINVAL;
  gt::Deadline deadline{CLOCK_REALTIME, *abstime};
  return gt::join(GREEN_THREADS_SELF(), t, result, &deadline, false);
}

int pthread_clockjoin_np(pthread_t thread, void** result, clockid_t clock, const struct timespec* abstime) {
  if (!gt::is_green_id(thread)) return GREEN_REAL(pthread_clockjoin_np)(thread, result, clock, abstime);
  GreenThread* t = gt::lookup(thread);
  if (t == nullptr) return ESRCH;
  if (abstime == nullptr) return gt::join(GREEN_THREADS_SELF(), t, result, nullptr, false);
  if ((clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) || !gt::valid_timespec(abstime)) return EINVAL;
  gt::Deadline deadline{clock, *abstime};
  return gt::join(GREEN_THREADS_SELF(), t, result, &deadline, false);
}

int pthread_detach(pthread_t thread) noexcept {
  if (!gt::is_green_id(thread)) return GREEN_REAL(pthread_detach)(thread);
  GreenThread* t = gt::lookup(thread);
  if (t == nullptr) return ESRCH;
  {
    std::lock_guard guard(t->lock);
    if (t->detached || t->joining) return EINVAL;
    if (!t->finished) {
      t->detached = true;
      return 0;
    }
  }
  gt::destroy(t);
  return 0;
}

pthread_t pthread_self() noexcept {
  GreenletBase* self = GREEN_THREADS_SELF();
  if (self == nullptr) return GREEN_REAL(pthread_self)();
  try {
    if (GreenThread* t = gt::current(*self, true)) return gt::id_of(t);
  } catch (...) {
    // No memory for a record: the OS thread's id is the best answer left.
  }
  return GREEN_REAL(pthread_self)();
}

// Defined under another C++ name: with optimisation, glibc's header has an inline
// pthread_equal that clang will not let us redefine.
int green_pthread_equal(pthread_t a, pthread_t b) noexcept __asm__("pthread_equal");
int green_pthread_equal(pthread_t a, pthread_t b) noexcept { return a == b; }

void pthread_exit(void* result) {
  GreenletBase* self = GREEN_THREADS_SELF();
  if (self == nullptr) GREEN_REAL(pthread_exit)(result);
  if (GreenThread* t = gt::current_or_null(self); t != nullptr && !t->adopted) {
    t->result = result;
    t->unwind = {};
    t->unwind.exception_class = 0x47524e5450455854ULL;  // "GRNTPEXT"
    t->unwind.exception_cleanup = [](_Unwind_Reason_Code, _Unwind_Exception*) {};
    _Unwind_ForcedUnwind(&t->unwind, gt::exit_stop, t);
    std::fputs("green-patch: pthread_exit could not unwind the thread\n", stderr);
    std::abort();
  }
  if (gt::is_main_greenlet(self)) {
    // The process lives on while other threads run, and ends with status 0 after the last;
    // ours run on this OS thread, so it waits for them here.
    gt::SavedErrno saved;
    while (gt::live_threads.load(std::memory_order_acquire) > 0) {
      Waiter w("pthread_exit");
      gt::Parked node(w);
      if (gt::lot::park_if(&gt::live_threads, node,
                           [] { return gt::live_threads.load(std::memory_order_acquire) > 0; }))
        gt::block(*self, w, std::nullopt);
      gt::lot::unpark(node);
    }
    std::exit(0);
  }
  throw green::GreenletExit();  // a greenlet from green::spawn: it ends as if killed
}

int pthread_setname_np(pthread_t thread, const char* name) noexcept {
  if (!gt::is_green_id(thread)) return GREEN_REAL(pthread_setname_np)(thread, name);
  GreenThread* t = gt::lookup(thread);
  if (t == nullptr) return ESRCH;
  if (std::strlen(name) >= sizeof(t->name)) return ERANGE;
  std::strcpy(t->name, name);
  try {
    t->greenlet->set_name(name);
  } catch (...) {
  }
  return 0;
}

int pthread_getname_np(pthread_t thread, char* buffer, size_t size) noexcept {
  if (!gt::is_green_id(thread)) return GREEN_REAL(pthread_getname_np)(thread, buffer, size);
  GreenThread* t = gt::lookup(thread);
  if (t == nullptr) return ESRCH;
  // Unnamed, it has the name of the thread it runs on, as a new thread inherits its creator's.
  if (t->name[0] == '\0') return GREEN_REAL(pthread_getname_np)(t->host, buffer, size);
  if (std::strlen(t->name) >= size) return ERANGE;
  std::strcpy(buffer, t->name);
  return 0;
}

int pthread_getattr_np(pthread_t thread, pthread_attr_t* attr) noexcept {
  if (!gt::is_green_id(thread)) return GREEN_REAL(pthread_getattr_np)(thread, attr);
  GreenThread* t = gt::lookup(thread);
  if (t == nullptr) return ESRCH;
  if (int r = ::pthread_attr_init(attr)) return r;
  if (t->stack_size != 0) ::pthread_attr_setstacksize(attr, t->stack_size);
  ::pthread_attr_setdetachstate(attr, t->detached ? PTHREAD_CREATE_DETACHED : PTHREAD_CREATE_JOINABLE);
  return 0;
}

int pthread_kill(pthread_t thread, int sig) noexcept {
  if (!gt::is_green_id(thread)) return GREEN_REAL(pthread_kill)(thread, sig);
  GreenThread* t = gt::lookup(thread);
  if (t == nullptr || t->greenlet->ready()) return ESRCH;
  // A signal goes to the OS thread the greenlet runs on (signals are per OS thread).
  return sig == 0 ? 0 : GREEN_REAL(pthread_kill)(t->host, sig);
}

// Scheduling and affinity are per OS thread: a green id stands for its host thread.
#define GREEN_HOST_HOOK(ret, name, params, args)                 \
  ret name(pthread_t thread GREEN_UNPAREN params) noexcept {     \
    if (gt::is_green_id(thread)) {                               \
      GreenThread* t = gt::lookup(thread);                       \
      if (t == nullptr) return ESRCH;                            \
      thread = t->host;                                          \
    }                                                            \
    return GREEN_REAL(name)(thread GREEN_UNPAREN args);          \
  }
#define GREEN_UNPAREN(...) __VA_ARGS__
GREEN_HOST_HOOK(int, pthread_setschedparam, (, int policy, const struct sched_param* param), (, policy, param))
GREEN_HOST_HOOK(int, pthread_getschedparam, (, int* policy, struct sched_param* param), (, policy, param))
GREEN_HOST_HOOK(int, pthread_setschedprio, (, int prio), (, prio))
GREEN_HOST_HOOK(int, pthread_getcpuclockid, (, clockid_t * clock), (, clock))
GREEN_HOST_HOOK(int, pthread_setaffinity_np, (, size_t size, const cpu_set_t* set), (, size, set))
GREEN_HOST_HOOK(int, pthread_getaffinity_np, (, size_t size, cpu_set_t* set), (, size, set))
GREEN_HOST_HOOK(int, pthread_sigqueue, (, int sig, const union sigval value), (, sig, value))
#undef GREEN_HOST_HOOK
#undef GREEN_UNPAREN

// Cancellation of a green thread is not supported (glibc would unwind the OS thread).
int pthread_cancel(pthread_t thread) {
  if (!gt::is_green_id(thread)) return GREEN_REAL(pthread_cancel)(thread);
  return gt::lookup(thread) == nullptr ? ESRCH : ENOTSUP;
}

// ---- keys: one value per greenlet ----

int pthread_key_create(pthread_key_t* key, void (*destructor)(void*)) noexcept {
  int r = GREEN_REAL(pthread_key_create)(key, destructor);
  if (r == 0 && *key < PTHREAD_KEYS_MAX) gt::key_destructors[*key].store(destructor, std::memory_order_release);
  return r;
}

int pthread_key_delete(pthread_key_t key) noexcept {
  int r = GREEN_REAL(pthread_key_delete)(key);
  if (r == 0 && key < PTHREAD_KEYS_MAX) {
    gt::key_destructors[key].store(nullptr, std::memory_order_release);
    // A key made later with the same number starts empty in every thread.
    std::lock_guard guard(gt::registry_lock);
    for (GreenThread* t : gt::registry())
      if (key < t->values.size()) t->values[key] = nullptr;
  }
  return r;
}

void* pthread_getspecific(pthread_key_t key) noexcept {
  GreenletBase* self = GREEN_THREADS_SELF();
  if (self == nullptr || gt::is_main_greenlet(self)) return GREEN_REAL(pthread_getspecific)(key);
  auto& map = gt::current_map();
  auto it = map.find(self);
  if (it == map.end()) return nullptr;  // a greenlet that never set a value
  const GreenThread* t = it->second;
  return key < t->values.size() ? t->values[key] : nullptr;
}

int pthread_setspecific(pthread_key_t key, const void* value) noexcept {
  GreenletBase* self = GREEN_THREADS_SELF();
  if (self == nullptr || gt::is_main_greenlet(self)) return GREEN_REAL(pthread_setspecific)(key, value);
  if (key >= PTHREAD_KEYS_MAX) return EINVAL;
  try {
    GreenThread* t = gt::current(*self, true);
    if (t->values.size() <= key) t->values.resize(key + 1);
    t->values[key] = const_cast<void*>(value);
  } catch (...) {
    return ENOMEM;
  }
  return 0;
}

}  // extern "C"
