// Which call families the patch layer makes cooperative, and when a call qualifies.
//
// GREEN_PATCH=socket,sleep,poll,dns (the default: all of them) chooses families, like
// gevent's patch_all(socket=, dns=, ...); GREEN_THREADS=1 (green-run --threads) adds the
// pthread family. A call is cooperative only when its family is patched and it is made
// by a greenlet that may block on its hub (never the hub itself, never a thread without a
// hub); everything else passes straight through to libc, unchanged.
#pragma once

#include <cstdint>

namespace green {
class GreenletBase;
}

namespace green::patch {

enum class Family : std::uint8_t { socket = 1, sleep = 2, poll = 4, dns = 8, threads = 16 };

struct Config {
  unsigned families;
  bool under_green_run;  // green-run started us: the main thread gets a hub at start-up
  static const Config& get() noexcept;
  bool patched(Family f) const noexcept { return (families & static_cast<unsigned>(f)) != 0; }
};

// Parses a GREEN_PATCH value ("socket,sleep" or "all"); returns false and names the
// offending word in `bad` (at most bad_size bytes) when a family is unknown.
bool parse_families(const char* text, unsigned& families, char* bad, unsigned bad_size) noexcept;

// The greenlet to block cooperatively, or nullptr: pass the call through.
GreenletBase* cooperative(Family family) noexcept;

}  // namespace green::patch
