#include "green/stats.hpp"

#include <algorithm>
#include <cstring>

#include "core/hub_registry.hpp"
#include "green/hub.hpp"

namespace green {
namespace detail {

void WaitCounts::count_slow(const char* what) noexcept {
  // Static strings: the pointer is the key. Linear probing over a small table.
  std::size_t i = (reinterpret_cast<std::uintptr_t>(what) >> 3) % kSlots;
  for (std::size_t probes = 0; probes < kSlots; ++probes, i = (i + 1) % kSlots) {
    Slot& slot = slots_[i];
    const char* key = slot.what.load(std::memory_order_relaxed);
    if (key == what) {
      slot.count.add();
      return;
    }
    if (key == nullptr) {
      slot.what.store(what, std::memory_order_release);  // only this hub's thread writes
      slot.count.add();
      return;
    }
  }
  other_.add();
}

std::vector<std::pair<std::string, std::uint64_t>> WaitCounts::snapshot() const {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  auto add = [&out](const char* what, std::uint64_t n) {
    if (n == 0) return;
    auto it = std::find_if(out.begin(), out.end(), [what](const auto& e) { return e.first == what; });
    if (it != out.end())
      it->second += n;
    else
      out.emplace_back(what, n);
  };
  for (const Slot& slot : slots_)
    if (const char* what = slot.what.load(std::memory_order_acquire)) add(what, slot.count.get());
  add("other", other_.get());
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

HubStats HubAccess::stats(const Hub& hub) {
  HubStats s;
  s.thread = hub.thread_id_;
  s.tid = hub.tid_;
  s.switches = hub.switch_count();
  s.spawns = hub.spawns_.get();
  s.live = hub.live_count_.get();
  s.peak_live = hub.peak_live_.get();
  s.waits = hub.waits_.snapshot();
  return s;
}

}  // namespace detail

std::uint64_t HubStats::total_waits() const noexcept {
  std::uint64_t total = 0;
  for (const auto& [kind, n] : waits) total += n;
  return total;
}

std::string HubStats::format() const {
  std::string text = "switches " + std::to_string(switches) + ", spawns " + std::to_string(spawns) + ", live " +
                     std::to_string(live) + " (peak " + std::to_string(peak_live) + "), waits " +
                     std::to_string(total_waits());
  if (!waits.empty()) {
    text += " (";
    for (std::size_t i = 0; i < waits.size(); ++i)
      text += (i ? ", " : "") + waits[i].first + " " + std::to_string(waits[i].second);
    text += ")";
  }
  return text;
}

HubStats Hub::stats() const { return detail::HubAccess::stats(*this); }

HubStats hub_stats() { return Hub::current().stats(); }

std::vector<HubStats> all_hub_stats() {
  std::vector<HubStats> out;
  detail::for_each_hub([&out](const Hub& hub) { out.push_back(hub.stats()); });
  return out;
}

}  // namespace green
