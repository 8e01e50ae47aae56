// green/raw_greenlet.hpp: a stack and a context to switch to, with python-greenlet semantics.
//
// A RawGreenlet runs its function on its own stack the first time something switches to
// it. It runs until it switches elsewhere; when its function returns, control goes to its
// parent (the first one that is not dead), and an exception the function let escape is
// thrown there, at the parent's switch point. GreenletExit escaping counts as a normal end.
// Switching never allocates. The thread's own stack is the main greenlet.
//
// Destroying a started, unfinished RawGreenlet throws GreenletExit into it so its stack
// unwinds (destructors run), with the destroying greenlet as its parent. A subclass that
// overrides run() must call unwind() in its own destructor, while its members still live.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <utility>

#include <boost/context/detail/fcontext.hpp>

// GCC names the sanitizers with these macros; clang before 16 only answers __has_feature.
// Everything below (and the stack pool's ASan calls) keys on the GCC names.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(__SANITIZE_ADDRESS__)
#define __SANITIZE_ADDRESS__ 1
#endif
#if __has_feature(thread_sanitizer) && !defined(__SANITIZE_THREAD__)
#define __SANITIZE_THREAD__ 1
#endif
#endif

namespace green {

class GreenletBase;
class RawGreenlet;

namespace detail {
struct ThreadState;
struct Switch;

// One mapping's worth of stack: [low, low + guard) is the guard, then `size` usable bytes.
struct Stack {
  char* low = nullptr;
  std::size_t size = 0;
  std::size_t guard = 0;
  char* top() const noexcept { return low + guard + size; }
  explicit operator bool() const noexcept { return low != nullptr; }
};

// libstdc++'s per-thread exception globals (__cxa_eh_globals): saved per greenlet so that
// `catch (...) { sleep(0); throw; }` in two greenlets rethrows each one's own exception.
struct ExceptionState {
  void* caught = nullptr;
  unsigned int uncaught = 0;
};

// What a switch touches of the per-thread state (the rest is in src/core/thread_state.hpp).
// Visible here so that switch_to() inlines into its caller: every call frame between a
// caller and the jump costs a mispredicted return once the stack has changed (about 6 ns
// a frame here; measured in bench/switch_bench.cpp).
struct SwitchState {
  RawGreenlet* current = nullptr;
  ExceptionState* exception_globals = nullptr;  // libstdc++'s __cxa_eh_globals
};
// The calling thread's state, or nullptr before green is first used on the thread.
extern thread_local SwitchState* tls_switch_state __attribute__((tls_model("initial-exec")));
// True when the library annotates switches for AddressSanitizer or ThreadSanitizer: then
// only its out-of-line switch may run.
extern const bool switch_is_annotated;
}  // namespace detail

class RawGreenlet {
 public:
  using Function = std::function<void()>;

  // `parent` nullptr means the greenlet that constructs this one; stack_size 0 means the
  // default (GREEN_STACK_SIZE, else 256 KiB).
  explicit RawGreenlet(Function run, RawGreenlet* parent = nullptr, std::size_t stack_size = 0);
  RawGreenlet(const RawGreenlet&) = delete;
  RawGreenlet& operator=(const RawGreenlet&) = delete;
  virtual ~RawGreenlet();

  // Runs this greenlet until it switches away; returns when something switches back.
  // Throws std::logic_error if this greenlet is dead or belongs to another OS thread.
  void switch_to();
  // Switches to this greenlet and throws `error` at its switch point. A greenlet that has
  // not started dies without running and `error` is rethrown here (GreenletExit is not).
  void throw_to(std::exception_ptr error);

  bool dead() const noexcept { return state_ == State::dead; }
  bool started() const noexcept { return state_ != State::not_started; }
  RawGreenlet* parent() const noexcept { return parent_; }
  // Throws std::invalid_argument on a cycle or a greenlet of another thread.
  void set_parent(RawGreenlet& parent);
  std::size_t stack_size() const noexcept;

  static RawGreenlet& current();

  // Used in diagnostics (stack overflow, run info).
  virtual const char* diagnostic_name() const noexcept { return "raw greenlet"; }
  // The Greenlet this is, or nullptr for a plain RawGreenlet (or the hub).
  virtual GreenletBase* greenlet_base() noexcept { return nullptr; }

 protected:
  struct MainTag {};
  explicit RawGreenlet(MainTag);  // the thread's own stack
  virtual void run();
  // Throws GreenletExit into a started, unfinished greenlet until it dies. Idempotent.
  void unwind() noexcept;
  // Hands the exception an earlier switch left for this greenlet to its switch point.
  void raise_pending();
  void set_pending(std::exception_ptr error) noexcept { pending_ = std::move(error); }
  bool has_pending() const noexcept { return static_cast<bool>(pending_); }
  std::exception_ptr take_pending() noexcept { return std::exchange(pending_, nullptr); }
  bool is_main() const noexcept { return is_main_; }
  // For a scheduler that knows which greenlet runs after the current one: with thousands
  // taking turns, what a resume touches first is not in the cache. Warm the object's lines
  // (this one two turns ahead), then, a turn ahead, both ends of its suspended stack: the
  // innermost frames above the saved registers (the wait being returned from) and the
  // outermost (the locals of the function it runs: a server handler's socket and loop).
  // Always inlined: GCC takes a function that only prefetches for one without effects and
  // deletes its calls.
  [[gnu::always_inline]] void prefetch_object() const noexcept {
    __builtin_prefetch(this);
    __builtin_prefetch(&stack_);
  }
  [[gnu::always_inline]] void prefetch_stack_ends() const noexcept {
    // Integer arithmetic: a greenlet that never ran has no context (a prefetch of a low
    // address is harmless), and the main greenlet no stack top of its own.
    const auto inner = reinterpret_cast<std::uintptr_t>(context_);
    const auto outer = stack_ ? reinterpret_cast<std::uintptr_t>(stack_.top()) : inner;
    for (std::uintptr_t i = 0; i < kPrefetchStackLines; ++i) {
      __builtin_prefetch(reinterpret_cast<const void*>(inner + 64 * i));
      __builtin_prefetch(reinterpret_cast<const void*>(outer - 64 * (i + 1)));
    }
  }
  // Makes sure the thread's stack pool can give this (not yet started) greenlet a stack now,
  // mapping more if needed; throws the pool's std::system_error (ENOMEM...) otherwise.
  void ensure_stack_available();

 private:
  friend struct detail::ThreadState;
  friend struct detail::Switch;
  enum class State : std::uint8_t { not_started, started, dead };

  static void entry(void* transfer_context, void* data) noexcept;
  void prepare_start();
  void start_or_jump();
  void jump_to(RawGreenlet& target, bool dying);
  void after_resume(void* from_context, void* from_greenlet) noexcept;
  void switch_to_slow();
  void release_stack_of_dead(RawGreenlet& from) noexcept;
  detail::ThreadState& thread() const noexcept;
  void release_stack() noexcept;
  void check_thread(const char* operation) const;

  // Measured at 10,000 echo connections: prefetching 8 lines at each end took the server's
  // user CPU per round trip from 1.0-1.3 us to about 0.75 us; 4 lines at the inner end gave
  // most of it.
  static constexpr int kPrefetchStackLines = 8;

  // What every switch reads or writes comes first, in the object's first 64 bytes: with
  // thousands of greenlets taking turns, each cache line touched per switch is a miss.
  void* context_ = nullptr;  // boost::context fcontext_t of a suspended greenlet
  detail::SwitchState* thread_;
  State state_ = State::not_started;
  bool is_main_ = false;
  std::exception_ptr pending_;
  detail::ExceptionState exceptions_;
  RawGreenlet* parent_ = nullptr;
  detail::Stack stack_;
  std::size_t requested_stack_size_ = 0;
  Function run_;
  // AddressSanitizer's view of this greenlet's stack (see context switch annotations).
  const void* asan_bottom_ = nullptr;
  std::size_t asan_size_ = 0;
  void* asan_fake_stack_ = nullptr;
  void* tsan_fiber_ = nullptr;  // ThreadSanitizer's fiber for this greenlet
};

inline void RawGreenlet::switch_to() {
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  detail::SwitchState* const ts = detail::tls_switch_state;
  if (ts == thread_ && state_ == State::started && !detail::switch_is_annotated) [[likely]] {
    RawGreenlet& from = *ts->current;
    if (&from == this) return;
    from.exceptions_ = *ts->exception_globals;
    *ts->exception_globals = exceptions_;
    ts->current = this;
    const auto back = boost::context::detail::jump_fcontext(context_, &from);
    // Running as `from` again; back.data is whoever switched here.
    auto& source = *static_cast<RawGreenlet*>(back.data);
    if (source.state_ == State::dead) [[unlikely]]
      from.release_stack_of_dead(source);
    else
      source.context_ = back.fctx;
    if (from.pending_) [[unlikely]]
      from.raise_pending();
    return;
  }
#endif
  switch_to_slow();
}

}  // namespace green
