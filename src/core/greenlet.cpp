#include "green/greenlet.hpp"

#include <chrono>
#include <cstdio>
#include <mutex>
#include <stdexcept>

#include "core/thread_state.hpp"
#include "green/hub.hpp"
#include "green/iwait.hpp"

namespace green {
namespace {
std::atomic<std::uint64_t> next_greenlet_id{1};

// Ids are unique process-wide; each thread takes them in blocks so that a spawn costs no
// locked instruction.
std::uint64_t new_greenlet_id() noexcept {
  constexpr std::uint64_t kBlock = 1024;
  thread_local std::uint64_t next = 0, end = 0;
  if (next == end) {
    next = next_greenlet_id.fetch_add(kBlock, std::memory_order_relaxed);
    end = next + kBlock;
  }
  return next++;
}

std::string describe(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (const GreenletExit& e) {
    return e.what();
  } catch (...) {
    return "an exception not derived from std::exception";
  }
}

bool is_greenlet_exit(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const GreenletExit&) {
    return true;
  } catch (...) {
    return false;
  }
}
}  // namespace

namespace detail {
std::string format_seconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", seconds);
  return text;
}

void start_greenlet(GreenletBase& greenlet) { Hub::current().start(greenlet, false, 0); }
void check_stack(GreenletBase& greenlet) { greenlet.ensure_stack_available(); }
void start_greenlet_later(GreenletBase& greenlet, double seconds) { Hub::current().start(greenlet, true, seconds); }
}  // namespace detail

GreenletBase::GreenletBase(const SpawnOptions& options, const std::type_info* spawn_site)
    : RawGreenlet(Function{}, &Hub::current(), options.stack_size),
      id_(new_greenlet_id()),
      spawn_site_(spawn_site),
      name_(options.name) {}

GreenletBase::GreenletBase(MainTag)
    : RawGreenlet(MainTag{}), id_(new_greenlet_id()), name_("MainGreenlet") {}

GreenletBase::~GreenletBase() {
  if (locals_ != nullptr) detail::destroy_locals(*this);
}

detail::LocalSlot*& detail::locals_of(GreenletBase& greenlet) noexcept { return greenlet.locals_; }

std::string GreenletBase::name() const {
  return name_.empty() ? "Greenlet-" + std::to_string(id_) : name_;
}

void GreenletBase::set_name(std::string name) { name_ = std::move(name); }

const char* GreenletBase::diagnostic_name() const noexcept {
  if (!name_.empty()) return name_.c_str();
  // Async-signal-safe: the overflow handler calls this.
  static thread_local char text[32];
  char digits[21];
  int n = 0;
  for (std::uint64_t v = id_; n == 0 || v != 0; v /= 10) digits[n++] = static_cast<char>('0' + v % 10);
  const char prefix[] = "Greenlet-";
  std::size_t pos = 0;
  for (char c : prefix)
    if (c != '\0') text[pos++] = c;
  while (n > 0) text[pos++] = digits[--n];
  text[pos] = '\0';
  return text;
}

void GreenletBase::run() {
  std::exception_ptr error;
  try {
    run_body();
  } catch (...) {
    error = std::current_exception();
  }
  if (locals_ != nullptr) detail::destroy_locals(*this);  // before joiners see it dead
  finish(std::move(error));
}

void GreenletBase::finish(std::exception_ptr error) noexcept {
  error_ = std::move(error);
  std::vector<Callback> callbacks;
  bool observed;
  {
    std::lock_guard guard(lock());
    finished_.store(true, std::memory_order_release);
    observed = !empty_locked() || !callbacks_.empty();
    notify_all_locked(Waiter::kNotified);
    callbacks.swap(callbacks_);
  }
  if (error_ && !observed && !is_greenlet_exit(error_)) report_unhandled();
  for (Callback& callback : callbacks) {
    try {
      callback.fn(GreenletRef(this));
    } catch (const GreenletExit&) {
    } catch (...) {
      std::fprintf(stderr, "green: a link callback of greenlet '%s' threw: %s\n", name().c_str(),
                   describe(std::current_exception()).c_str());
    }
  }
}

void GreenletBase::report_unhandled() const noexcept {
  try {
    std::fprintf(stderr, "green: greenlet '%s' (id %llu) died with an unhandled exception: %s\n", name().c_str(),
                 static_cast<unsigned long long>(id_), describe(error_).c_str());
  } catch (...) {
  }
}

void GreenletBase::rethrow_if_failed() const {
  if (ready() && error_) std::rethrow_exception(error_);
}

bool GreenletBase::join(std::optional<double> timeout) {
  if (ready()) return true;
  if (detail::ThreadState::get().current == static_cast<RawGreenlet*>(this))
    throw std::logic_error("green: greenlet '" + name() + "' cannot join itself");
  Waiter waiter("Greenlet.join");
  if (!link_unless_ready(waiter)) return true;
  return waiter.wait(timeout) != Waiter::kTimedOut || ready();
}

void GreenletBase::kill(bool block, std::optional<double> timeout) {
  if (ready()) return;
  if (detail::ThreadState::get().current == static_cast<RawGreenlet*>(this)) throw GreenletExit();
  hub_->throw_into(*this, std::make_exception_ptr(GreenletExit()), true);
  if (block) join(timeout);
}

LinkId GreenletBase::link(std::function<void(GreenletRef)> callback) {
  {
    std::lock_guard guard(lock());
    if (!ready()) {
      LinkId id = next_link_id_++;
      callbacks_.push_back(Callback{id, std::move(callback)});
      return id;
    }
  }
  callback(GreenletRef(this));
  return 0;
}

void GreenletBase::unlink(LinkId id) noexcept {
  std::lock_guard guard(lock());
  std::erase_if(callbacks_, [id](const Callback& c) { return c.id == id; });
}

void GreenletRef::get(std::optional<double> timeout) const {
  if (!ref_->join(timeout))
    throw TimeoutError("green: Greenlet.get timed out after " + detail::format_seconds(*timeout) +
                           " s waiting for '" + ref_->name() + "'",
                       nullptr);
  ref_->rethrow_if_failed();
}

GreenletRef getcurrent() {
  GreenletBase* g = detail::ThreadState::get().current->greenlet_base();
  if (g == nullptr) throw std::logic_error("green::getcurrent: the running greenlet is a RawGreenlet or the hub");
  return GreenletRef(g);
}

std::vector<GreenletRef> joinall(const std::vector<GreenletRef>& greenlets, std::optional<double> timeout,
                                 bool raise_error) {
  if (raise_error) {
    for (const GreenletRef& g : iwait(greenlets, timeout)) g.get_base()->rethrow_if_failed();
  } else {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    for (const GreenletRef& g : greenlets) {
      std::optional<double> left;
      if (timeout) left = std::max(0.0, *timeout - std::chrono::duration<double>(clock::now() - start).count());
      if (!g.join(left)) break;
    }
  }
  std::vector<GreenletRef> done;
  for (const GreenletRef& g : greenlets)
    if (g.ready()) done.push_back(g);
  return done;
}

void killall(const std::vector<GreenletRef>& greenlets, bool block, std::optional<double> timeout) {
  for (const GreenletRef& g : greenlets) g.kill(false);
  if (block) joinall(greenlets, timeout);
}

}  // namespace green
