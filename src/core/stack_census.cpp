#include "core/stack_census.hpp"

#include <cxxabi.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/stack_pool.hpp"
#include "green/stack_census.hpp"

namespace green {
namespace {

struct Census {
  std::mutex mutex;
  // Keyed by the type_info (unique per type), demangled only when reported.
  std::map<const std::type_info*, StackUsage> sites;
};

Census& census() {
  static Census* instance = new Census;  // outlives every thread's last greenlet
  return *instance;
}

std::string demangle(const std::type_info* site) {
  if (site == nullptr) return "(raw greenlet or hub)";
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> text(abi::__cxa_demangle(site->name(), nullptr, nullptr, &status),
                                                   &std::free);
  return status == 0 && text ? text.get() : site->name();
}

void print_at_exit() { std::fputs(format_stack_census().c_str(), stderr); }

// The lowest written byte: pages never touched are skipped through mincore (reading them
// would fault each one in), then the first resident page is scanned for a non-zero word.
std::size_t used_bytes(const detail::Stack& stack) {
  const std::size_t page = detail::page_size();
  char* const bottom = stack.low + stack.guard;
  const std::size_t pages = stack.size / page;
  std::vector<unsigned char> resident(pages);
  if (::mincore(bottom, stack.size, resident.data()) != 0) return 0;
  for (std::size_t p = 0; p < pages; ++p) {
    if (!(resident[p] & 1)) continue;
    const auto* word = reinterpret_cast<const std::uint64_t*>(bottom + p * page);
    const auto* end = reinterpret_cast<const std::uint64_t*>(bottom + (p + 1) * page);
    for (; word < end; ++word)
      if (*word != 0) return static_cast<std::size_t>(stack.top() - reinterpret_cast<const char*>(word));
  }
  return 0;
}

}  // namespace

bool stack_census_enabled() noexcept {
  static const bool enabled = [] {
    const char* value = std::getenv("GREEN_STACK_CENSUS");
    const bool on = value != nullptr && *value != '\0' && std::strcmp(value, "0") != 0;
    if (on) std::atexit(print_at_exit);
    return on;
  }();
  return enabled;
}

std::vector<StackUsage> stack_census() {
  std::vector<StackUsage> result;
  {
    std::lock_guard guard(census().mutex);
    for (const auto& [site, usage] : census().sites) {
      result.push_back(usage);
      result.back().site = demangle(site);
    }
  }
  std::sort(result.begin(), result.end(), [](const StackUsage& a, const StackUsage& b) { return a.max_used > b.max_used; });
  return result;
}

std::string format_stack_census() {
  std::string text = "green: stack census (deepest use per spawn site):\n";
  char line[96];
  for (const StackUsage& usage : stack_census()) {
    std::snprintf(line, sizeof line, "  %8.1f KiB of %6zu KiB  %8zu greenlets  ", usage.max_used / 1024.0,
                  usage.stack_size >> 10, usage.greenlets);
    text += line + usage.site + "\n";
  }
  return text;
}

namespace detail {
void census_record(const Stack& stack, const std::type_info* site) noexcept {
  try {
    const std::size_t used = used_bytes(stack);
    ::madvise(stack.low + stack.guard, stack.size, MADV_DONTNEED);  // the next one starts from zeros
    std::lock_guard guard(census().mutex);
    StackUsage& usage = census().sites[site];
    ++usage.greenlets;
    usage.max_used = std::max(usage.max_used, used);
    usage.stack_size = std::max(usage.stack_size, stack.size);
  } catch (...) {
    // A census that cannot allocate just misses this greenlet.
  }
}
}  // namespace detail

}  // namespace green
