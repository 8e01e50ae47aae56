#include "config.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "green/hub.hpp"
#include "real.hpp"

namespace green::patch {

void* next_symbol(const char* name) noexcept {
  void* fn = ::dlsym(RTLD_NEXT, name);
  if (fn == nullptr) {
    std::fprintf(stderr, "green-patch: libc has no '%s' (dlsym: %s)\n", name, ::dlerror());
    std::abort();
  }
  return fn;
}

const Config& Config::get() noexcept {
  // A sanitizer runtime calls hooks from the program's preinit functions, before libc has
  // set up the environment: answer "nothing patched" then, and read it (once) later.
  static const Config too_early{0, false};
  if (environ == nullptr) return too_early;
  static const Config config = [] {
    Config c{15, false};
    if (const char* patch = std::getenv("GREEN_PATCH"); patch != nullptr && *patch != '\0') {
      char bad[64];
      if (!parse_families(patch, c.families, bad, sizeof(bad))) {
        std::fprintf(stderr, "green-patch: GREEN_PATCH names an unknown family '%s' "
                             "(known: socket, sleep, poll, dns, threads, all)\n", bad);
        std::exit(2);
      }
    }
    if (const char* threads = std::getenv("GREEN_THREADS"); threads != nullptr && std::strcmp(threads, "1") == 0)
      c.families |= static_cast<unsigned>(Family::threads);
    const char* run = std::getenv("GREEN_RUN");
    c.under_green_run = run != nullptr && std::strcmp(run, "1") == 0;
    return c;
  }();
  return config;
}

GreenletBase* cooperative(Family family) noexcept {
  GreenletBase* g = detail::blockable_greenlet();
  if (g == nullptr || !Config::get().patched(family)) return nullptr;
  return g;
}

}  // namespace green::patch
