#include "green/hub.hpp"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "core/hub_registry.hpp"
#include "core/idle_threads.hpp"
#include "core/thread_state.hpp"

namespace green {
namespace {

// The process's thread count (field 20 of /proc/self/stat), or -1 when it cannot be read.
// Signals may interrupt the reads (no SA_RESTART): they are retried.
int process_thread_count() {
  int fd;
  do fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return -1;
  char text[4096];
  std::size_t size = 0;
  for (;;) {
    const ssize_t n = ::read(fd, text + size, sizeof(text) - 1 - size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    size += static_cast<std::size_t>(n);
    if (size == sizeof(text) - 1) break;
  }
  ::close(fd);
  text[size] = '\0';
  // The fields after the ')' that closes the command name (which may hold spaces).
  const char* pos = std::strrchr(text, ')');
  if (pos == nullptr) return -1;
  int field = 2;
  for (++pos; *pos != '\0' && field < 20; ++pos)
    if (*pos == ' ') ++field;
  if (*pos < '0' || *pos > '9') return -1;
  return std::atoi(pos);
}

std::atomic<std::uint64_t> next_serial{0};
}  // namespace

struct Hub::Async {
  ev_async watcher;
  ev_timer recheck;  // while only other threads can wake us, look again now and then
};

Hub& Hub::current() {
  detail::ThreadState& ts = detail::ThreadState::get();
  if (!ts.hub) ts.hub.reset(new Hub());
  return *ts.hub;
}

Hub& get_hub() { return Hub::current(); }

Hub::Hub()
    : RawGreenlet(Function{}, detail::ThreadState::get().main_raw(), 0),
      thread_id_(std::this_thread::get_id()),
      main_(detail::ThreadState::get().main),
      tid_(static_cast<int>(::gettid())),
      serial_(next_serial.fetch_add(1, std::memory_order_relaxed) + 1),
      async_(std::make_unique<Async>()) {
  // Never libev's default loop: it reaps every child on SIGCHLD with waitpid(-1), stealing
  // exit statuses from whoever started them. Signals work in any loop; children are
  // watched through pidfds (src/io/subprocess.cpp).
  loop_ = ev_loop_new(EVFLAG_AUTO);
  if (loop_ == nullptr) throw std::runtime_error("green: libev could not create an event loop");
  ev_set_userdata(loop_, this);
  main_->hub_ = this;
  ev_async_init(&async_->watcher, [](struct ev_loop* loop, ev_async*, int) {
    static_cast<Hub*>(ev_userdata(loop))->drain_inbox();
  });
  ev_async_start(loop_, &async_->watcher);
  ev_unref(loop_);  // a hub with only cross-thread wake-ups armed is idle
  loop_now_ = ev_now(loop_);
  ev_timer_init(&async_->recheck, [](struct ev_loop*, ev_timer*, int) {}, 1.0, 0.0);
  detail::register_hub(*this);
}

Hub::~Hub() {
  detail::unregister_hub(*this);
  threadpool_.reset();  // joins workers, which may still post to this loop
  drain_inbox();
  // Greenlets still alive at thread exit are abandoned: their stacks are released
  // without unwinding (ThreadState::shutting_down) once nobody holds them.
  while (GreenletBase* g = live_head_) {
    remove_live(*g);
    if (g->start_timer_ != nullptr) {
      delete static_cast<ev_timer*>(g->start_timer_);
      g->start_timer_ = nullptr;
    }
    g->release();
  }
  std::lock_guard guard(inbox_mutex_);  // waits for a post still sending to this loop
  ev_ref(loop_);
  ev_async_stop(loop_, &async_->watcher);
  ev_loop_destroy(loop_);
}

bool Hub::is_current_thread() const noexcept {
  detail::ThreadState* ts = detail::ThreadState::get_if_exists();
  return ts != nullptr && ts->hub.get() == this;
}

void Hub::push_ready(GreenletBase& g) noexcept {
  g.sched_ = GreenletBase::Sched::queued;
  g.next_ready_ = nullptr;
  if (ready_tail_ != nullptr)
    ready_tail_->next_ready_ = &g;
  else
    ready_head_ = &g;
  ready_tail_ = &g;
}

void Hub::schedule(GreenletBase& g) noexcept {
  if (g.sched_ == GreenletBase::Sched::waiting) push_ready(g);
}

void Hub::post(InboxEntry entry) noexcept {
  // The send happens under the lock: once the entry is in, the hub may drain it, run the
  // woken greenlet to its end and let its thread exit, and ~Hub takes this lock before it
  // destroys the loop, so a poster never touches a dead loop.
  std::lock_guard guard(inbox_mutex_);
  inbox_.push_back(std::move(entry));
  if (!inbox_pending_.exchange(true, std::memory_order_acq_rel)) ev_async_send(loop_, &async_->watcher);
}

void Hub::wake(GreenletBase& g, std::uint64_t seq) noexcept {
  if (is_current_thread()) {
    if (g.sched_ == GreenletBase::Sched::waiting && g.wait_seq_ == seq) push_ready(g);
    return;
  }
  post(InboxEntry{detail::Ref<GreenletBase>(&g), seq, nullptr, false, {}});
}

void Hub::throw_into(GreenletBase& g, std::exception_ptr error, bool is_kill) noexcept {
  if (!is_current_thread()) {
    post(InboxEntry{detail::Ref<GreenletBase>(&g), 0, std::move(error), is_kill, {}});
    return;
  }
  if (g.ready()) return;
  if (!g.RawGreenlet::started()) {
    // It never ran: it ends now with the error, and never runs.
    cancel_start(g);
    g.finish(std::move(error));
    return;
  }
  if (g.has_pending() && (g.pending_is_kill_ || !is_kill)) return;
  g.set_pending(std::move(error));
  g.pending_is_kill_ = is_kill;
  schedule(g);
}

void Hub::drain_inbox() noexcept {
  {
    std::lock_guard guard(inbox_mutex_);
    std::swap(inbox_, inbox_spare_);
    inbox_pending_.store(false, std::memory_order_release);
  }
  for (InboxEntry& entry : inbox_spare_) {
    if (entry.callback) {
      run_callback(entry.callback);
      continue;
    }
    GreenletBase& g = *entry.greenlet;
    if (entry.error)
      throw_into(g, std::move(entry.error), entry.is_kill);
    else if (g.sched_ == GreenletBase::Sched::waiting && g.wait_seq_ == entry.seq)
      push_ready(g);
  }
  inbox_spare_.clear();
}

void Hub::call_threadsafe(std::function<void()> callback) {
  if (!callback) throw std::invalid_argument("green::Hub::call_threadsafe: the callback is empty");
  post(InboxEntry{{}, 0, nullptr, false, std::move(callback)});
}

void Hub::run_callback(std::function<void()>& callback) noexcept {
  try {
    callback();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "green: a callback passed to Hub::call_threadsafe threw: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "green: a callback passed to Hub::call_threadsafe threw\n");
  }
  callback = nullptr;  // its captures die here, on the hub's thread
}

void Hub::add_external_work() noexcept { external_work_.fetch_add(1, std::memory_order_relaxed); }

void Hub::remove_external_work() noexcept {
  if (external_work_.fetch_sub(1, std::memory_order_acq_rel) == 1 && !is_current_thread())
    ev_async_send(loop_, &async_->watcher);  // let the hub re-evaluate a possible LoopExit
}

void Hub::reinit_after_fork() noexcept {
  ev_loop_fork(loop_);
  // Another thread may have held the inbox lock at the fork: start with a fresh one. (The
  // thread pools reset themselves in the child through pthread_atfork.)
  new (&inbox_mutex_) std::mutex;
}

void Hub::add_live(GreenletBase& g) noexcept {
  g.live_prev_ = nullptr;
  g.live_next_ = live_head_;
  if (live_head_ != nullptr) live_head_->live_prev_ = &g;
  live_head_ = &g;
  live_count_.add();
  if (live_count_.get() > peak_live_.get()) peak_live_.set(live_count_.get());
}

void Hub::remove_live(GreenletBase& g) noexcept {
  if (g.live_prev_ != nullptr)
    g.live_prev_->live_next_ = g.live_next_;
  else if (live_head_ == &g)
    live_head_ = g.live_next_;
  else
    return;  // not in the list
  if (g.live_next_ != nullptr) g.live_next_->live_prev_ = g.live_prev_;
  g.live_prev_ = g.live_next_ = nullptr;
  live_count_.sub();
}

void Hub::start(GreenletBase& g, bool later, double seconds) {
  g.hub_ = this;
  g.spawned_at_ = loop_now_;
  GreenletBase* spawner = detail::ThreadState::get().current->greenlet_base();
  g.spawner_id_ = spawner != nullptr ? spawner->id_ : 0;
  spawns_.add();
  g.add_ref();  // the hub's: a spawned greenlet runs whether or not anyone holds a handle
  add_live(g);
  if (!later) {
    push_ready(g);
    return;
  }
  auto* timer = new ev_timer;
  timer->data = &g;
  ev_timer_init(timer, [](struct ev_loop* loop, ev_timer* w, int) {
    auto& greenlet = *static_cast<GreenletBase*>(w->data);
    greenlet.start_timer_ = nullptr;
    delete w;
    static_cast<Hub*>(ev_userdata(loop))->push_ready(greenlet);
  }, seconds, 0.0);
  ev_now_update(loop_);
  ev_timer_start(loop_, timer);
  g.start_timer_ = timer;
}

void Hub::cancel_start(GreenletBase& g) noexcept {
  g.cancelled_ = true;
  if (g.start_timer_ != nullptr) {
    auto* timer = static_cast<ev_timer*>(g.start_timer_);
    ev_timer_stop(loop_, timer);
    delete timer;
    g.start_timer_ = nullptr;
    remove_live(g);
    g.release();
  }
  // A queued one is dropped when the run queue reaches it (resume()).
}

void Hub::resume(GreenletBase& g) {
  if (g.cancelled_) {
    remove_live(g);
    g.release();
    return;
  }
  g.sched_ = GreenletBase::Sched::running;
  g.waiting_on_ = nullptr;
  g.waiting_fd_ = -1;
  g.wait_deadline_ = 0;
  turn_.add();  // odd: a greenlet runs
  try {
    g.RawGreenlet::switch_to();
  } catch (...) {
    // Only starting can fail (no memory for a stack): the greenlet dies with the error.
    g.finish(std::current_exception());
  }
  turn_.add();  // even: back in the loop
  if (g.RawGreenlet::dead() || g.cancelled_) {
    remove_live(g);
    g.release();
  }
}

void Hub::run_ready_pass() {
  // Only greenlets ready when the pass began: one that yields goes to the back and waits
  // for the next pass, after the loop had its chance to run I/O and timers.
  GreenletBase* last = ready_tail_;
  while (GreenletBase* g = ready_head_) {
    ready_head_ = g->next_ready_;
    if (ready_head_ == nullptr) ready_tail_ = nullptr;
    const bool was_last = g == last;
    // The turns ahead are warmed while this one runs (see RawGreenlet::prefetch_object).
    if (GreenletBase* next = was_last ? nullptr : g->next_ready_) {
      if (GreenletBase* after = next->next_ready_) {
        after->prefetch_object();
        __builtin_prefetch(&after->next_ready_);
      }
      next->prefetch_stack_ends();
    }
    resume(*g);
    if (was_last) break;
  }
}

void Hub::poll_if_due() {
  // A clock read costs ~20 ns and a poll ~1 us here: read the clock every 16 passes and
  // poll when kPollInterval has passed, so busy yielders cost no syscall per switch.
  if (++passes_since_clock_ < 16) return;
  passes_since_clock_ = 0;
  auto now = std::chrono::steady_clock::now();
  if (now - last_poll_ < kPollInterval) return;
  last_poll_ = now;
  ev_run(loop_, EVRUN_NOWAIT);
  loop_now_ = ev_now(loop_);
}

void Hub::wait_for_events() {
  const bool external = external_work_.load(std::memory_order_acquire) > 0;
  if (external) ev_ref(loop_);
  const int active = ev_run(loop_, EVRUN_ONCE);
  loop_now_ = ev_now(loop_);
  if (external) ev_unref(loop_);
  last_poll_ = std::chrono::steady_clock::now();
  if (active > (external ? 1 : 0) || external || ready_head_ != nullptr ||
      inbox_pending_.load(std::memory_order_acquire))
    return;
  if (other_threads_may_wake()) {
    // Block until another thread posts to us; look again every second in case it ended.
    ev_ref(loop_);
    // Re-armed each time: a one-shot timer that expired keeps its overdue time, so a bare
    // start would fire at once and turn this wait into a busy loop.
    ev_timer_set(&async_->recheck, 1.0, 0.0);
    ev_timer_start(loop_, &async_->recheck);
    ev_run(loop_, EVRUN_ONCE);
    loop_now_ = ev_now(loop_);
    ev_timer_stop(loop_, &async_->recheck);
    ev_unref(loop_);
    return;
  }
  // A thread may have posted to us and then gone idle since the check above: its post
  // happened before its idle count went up, so reading the count saw the post too.
  if (inbox_pending_.load(std::memory_order_acquire)) return;
  raise_loop_exit_in_main();
}

bool Hub::other_threads_may_wake() const {
  // Wrong answers must err towards "may wake": that costs a look again a second later,
  // the other way a false LoopExit. So a reading is trusted only when the idle count held
  // still while the threads were counted (a pool starting a worker changes both).
  const unsigned generation = detail::idle_generation.load(std::memory_order_acquire);
  const int idle = detail::idle_green_threads.load(std::memory_order_acquire);
  const int threads = process_thread_count();
  if (threads < 0 || detail::idle_generation.load(std::memory_order_acquire) != generation) return true;
  return threads - 1 - idle > 0;
}

std::string Hub::describe_blocked() const {
  std::string text;
  std::size_t shown = 0;
  for (const GreenletBase* g = live_head_; g != nullptr; g = g->live_next_) {
    if (g->sched_ != GreenletBase::Sched::waiting) continue;
    if (shown++ == 5) {
      text += ", ...";
      break;
    }
    text += shown == 1 ? "" : ", ";
    text += "'" + g->name() + "' (" + (g->waiting_on_ ? g->waiting_on_ : "?") + ")";
  }
  return text;
}

void Hub::raise_loop_exit_in_main() {
  // Nothing that owns memory may stay in this frame across the switch: if the program then
  // ends, the hub is abandoned mid-frame and its locals are never destroyed.
  std::exception_ptr error;
  {
    std::string message = "green::LoopExit: this operation would block forever: the main greenlet waits on ";
    message += main_->waiting_on_ != nullptr ? main_->waiting_on_ : "the hub";
    message += ", and no greenlet is ready, no watcher is active and no other thread could wake it";
    if (live_count_.get() > 0) message += "; blocked greenlets: " + describe_blocked();
    error = std::make_exception_ptr(LoopExit(message));
  }
  main_->sched_ = GreenletBase::Sched::running;
  main_->waiting_on_ = nullptr;
  turn_.add();
  main_->throw_to(std::move(error));
  turn_.add();
}

void Hub::run() {
  for (;;) {
    if (inbox_pending_.load(std::memory_order_acquire)) drain_inbox();
    if (ready_head_ != nullptr) {
      run_ready_pass();
      if (ready_head_ != nullptr) {
        poll_if_due();
        continue;
      }
    }
    wait_for_events();
  }
}

void Hub::suspend(GreenletBase& self, const char* what) {
  self.raise_pending();  // deferred by a hook that could not throw: this is the next switch point
  self.sched_ = GreenletBase::Sched::waiting;
  self.waiting_on_ = what;
  self.waiting_since_ = loop_now_;
  switch_to();
}

void Hub::yield(GreenletBase& self) {
  self.raise_pending();
  push_ready(self);
  switch_to();
}

namespace detail {
GreenletBase* blockable_greenlet() noexcept {
  ThreadState* ts = ThreadState::get_if_exists();
  if (ts == nullptr || !ts->hub || ts->shutting_down) return nullptr;
  return ts->current->greenlet_base();
}

void defer_exception(GreenletBase& self, std::exception_ptr error, bool is_kill) noexcept {
  if (self.has_pending() && (self.pending_is_kill_ || !is_kill)) return;
  self.set_pending(std::move(error));
  self.pending_is_kill_ = is_kill;
}

bool has_deferred_exception(const GreenletBase& self) noexcept { return self.has_pending(); }

namespace {
thread_local int real_thread_scopes = 0;
}
RealThreadScope::RealThreadScope() noexcept { ++real_thread_scopes; }
RealThreadScope::~RealThreadScope() { --real_thread_scopes; }
bool RealThreadScope::active() noexcept { return real_thread_scopes > 0; }

std::exception_ptr take_deferred_exception(GreenletBase& self, bool& is_kill) noexcept {
  is_kill = self.pending_is_kill_;
  self.pending_is_kill_ = false;
  return self.take_pending();
}
}  // namespace detail

// ---- Waiter: the one blocking step ----

Waiter::Waiter(const char* what) : what_(what) {
  detail::ThreadState& ts = detail::ThreadState::get();
  greenlet_ = ts.current->greenlet_base();
  if (greenlet_ == nullptr) {
    if (ts.hub && ts.current == ts.hub.get())
      throw std::logic_error(std::string("green: ") + what +
                             " called inside the hub (a libev callback), where blocking would deadlock");
    throw std::logic_error(std::string("green: ") + what +
                           " called in a RawGreenlet; only greenlets and the main greenlet can block on the hub");
  }
  hub_ = ts.hub ? ts.hub.get() : &Hub::current();
  seq_ = ++greenlet_->wait_seq_;
}

Waiter::~Waiter() {
  if (Linkable* linked_to = owner()) linked_to->unlink(*this);
}

bool Waiter::notify(int reason) noexcept {
  const bool here = hub_->is_current_thread();
  // A greenlet about to receive a kill must not take what notify_one hands out.
  if (reason != kTimedOut && here && greenlet_->has_pending() && greenlet_->pending_is_kill_) return false;
  int expected = 0;
  if (!state_.compare_exchange_strong(expected, reason, std::memory_order_acq_rel)) return false;
  if (here) {
    // Hub::wake without asking again which thread this is.
    if (greenlet_->sched_ == GreenletBase::Sched::waiting && greenlet_->wait_seq_ == seq_) hub_->push_ready(*greenlet_);
  } else {
    hub_->wake(*greenlet_, seq_);
  }
  return true;
}

int Waiter::wait(std::optional<double> timeout) {
  if (fired()) return reason();
  hub_->count_wait(what_);
  greenlet_->waiting_fd_ = fd_;
  greenlet_->waiting_direction_ = direction_;
  if (timeout) return wait_timed(*timeout);
  // Untimed (blocking socket I/O, most waits): nothing to arm, and a small frame for the
  // greenlet to come back to.
  while (!fired()) hub_->suspend(*greenlet_, what_);
  return reason();
}

__attribute__((noinline)) int Waiter::wait_timed(double timeout) {
  if (!(timeout >= 0))
    throw std::invalid_argument(std::string("green: ") + what_ + ": timeout must be >= 0, got " +
                                detail::format_seconds(timeout));
  ev_timer timer;
  ev_timer_init(&timer, [](struct ev_loop*, ev_timer* w, int) {
    static_cast<Waiter*>(w->data)->notify(kTimedOut);
  }, timeout, 0.0);
  timer.data = this;
  ev_now_update(hub_->loop());
  ev_timer_start(hub_->loop(), &timer);
  greenlet_->wait_deadline_ = ev_now(hub_->loop()) + timeout;
  struct StopTimer {
    struct ev_loop* loop;
    ev_timer* timer;
    ~StopTimer() { ev_timer_stop(loop, timer); }
  } stop{hub_->loop(), &timer};
  while (!fired()) hub_->suspend(*greenlet_, what_);
  return reason();
}

void sleep(double seconds) {
  if (!(seconds >= 0))
    throw std::invalid_argument("green::sleep: seconds must be >= 0, got " + detail::format_seconds(seconds));
  if (seconds == 0) {
    detail::ThreadState& ts = detail::ThreadState::get();
    GreenletBase* self = ts.current->greenlet_base();
    if (self == nullptr) {
      Waiter check("green::sleep");  // throws the right error
    }
    Hub::current().yield(*self);
    return;
  }
  Waiter waiter("sleep");
  waiter.wait(seconds);
}

}  // namespace green
