// green-run: runs an unmodified dynamically linked program with libgreen-patch.so
// preloaded, so its blocking socket, sleep, poll and DNS calls (and with --threads, its
// pthreads) become cooperative greenlets on one OS thread.
#include <limits.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "config.hpp"

#ifndef GREEN_PATCH_INSTALLED_LIBRARY
#define GREEN_PATCH_INSTALLED_LIBRARY ""
#endif

namespace {

constexpr const char* kUsage =
    "usage: green-run [options] [--] program [args...]\n"
    "\n"
    "Runs an unmodified, dynamically linked program with libgreen-patch.so preloaded:\n"
    "its blocking socket, sleep, poll/select/epoll and DNS calls yield to other greenlets\n"
    "instead of blocking the thread. The main thread runs as the main greenlet of a hub.\n"
    "\n"
    "options:\n"
    "  --threads          turn the program's pthreads into greenlets on the calling OS\n"
    "                     thread (mutexes, condition variables, semaphores, ... become\n"
    "                     greenlet-aware). Same as GREEN_THREADS=1.\n"
    "  --patch FAMILIES   comma-separated families to patch: socket, sleep, poll, dns,\n"
    "                     threads, or all (default: all but threads). Same as GREEN_PATCH.\n"
    "  --stack-size N     default greenlet stack size in bytes (K and M suffixes allowed,\n"
    "                     e.g. 64K). Same as GREEN_STACK_SIZE.\n"
    "  --stats            print each hub's counters (switches, spawns, live and peak\n"
    "                     greenlets, waits by kind) on stderr when it ends, the main\n"
    "                     thread's at exit. Same as GREEN_STATS=1.\n"
    "  --stack-census     measure how deep each spawn site's greenlets use their stacks;\n"
    "                     printed at exit. Same as GREEN_STACK_CENSUS=1.\n"
    "  --max-blocking-ms N\n"
    "                     report, with its backtrace, a greenlet that keeps its hub from\n"
    "                     its loop for more than N ms. Same as GREEN_MAX_BLOCKING_MS.\n"
    "  --dump-signal SIG  on signal SIG (USR1, USR2 or a number), print every greenlet's\n"
    "                     state on stderr. Same as GREEN_DUMP_SIGNAL.\n"
    "  -h, --help         show this help and exit\n"
    "\n"
    "Environment: GREEN_PATCH_LIBRARY overrides where libgreen-patch.so is looked for.\n";

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "green-run: %s (see green-run --help)\n", message.c_str());
  std::exit(2);
}

bool readable(const std::string& path) { return !path.empty() && ::access(path.c_str(), R_OK) == 0; }

std::string self_directory() {
  char path[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return ".";
  path[n] = '\0';
  std::string s(path);
  return s.substr(0, s.rfind('/'));
}

std::string find_patch_library() {
  if (const char* env = std::getenv("GREEN_PATCH_LIBRARY"); env != nullptr && *env != '\0') {
    if (!readable(env)) fail(std::string("GREEN_PATCH_LIBRARY names a file that cannot be read: ") + env);
    return env;
  }
  const std::string here = self_directory();
  for (const std::string& candidate : {here + "/libgreen-patch.so", std::string(GREEN_PATCH_INSTALLED_LIBRARY)})
    if (readable(candidate)) return candidate;
  fail("cannot find libgreen-patch.so next to green-run or in " + std::string(GREEN_PATCH_INSTALLED_LIBRARY) +
       "; set GREEN_PATCH_LIBRARY");
}

bool valid_milliseconds(const char* text) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  return end != text && *end == '\0' && v > 0;
}

bool valid_signal(const char* text) {
  for (const char* name : {"USR1", "USR2", "SIGUSR1", "SIGUSR2"})
    if (std::strcmp(text, name) == 0) return true;
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  return end != text && *end == '\0' && v > 1 && v < 65;
}

bool valid_size(const char* text) {
  char* end = nullptr;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (end == text || v == 0) return false;
  if (*end == 'K' || *end == 'k' || *end == 'M' || *end == 'm') ++end;
  return *end == '\0';
}

}  // namespace

int main(int argc, char** argv) {
  bool threads = false;
  const char* patch = nullptr;
  const char* stack_size = nullptr;
  const char* max_blocking = nullptr;
  const char* dump_signal = nullptr;
  bool stats = false;
  bool census = false;
  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--threads") {
      threads = true;
    } else if (arg == "--stats") {
      stats = true;
    } else if (arg == "--stack-census") {
      census = true;
    } else if (arg == "--patch" || arg == "--stack-size" || arg == "--max-blocking-ms" || arg == "--dump-signal") {
      if (i + 1 >= argc) fail(arg + " needs a value");
      const char*& value = arg == "--patch" ? patch
                           : arg == "--stack-size" ? stack_size
                           : arg == "--max-blocking-ms" ? max_blocking
                                                        : dump_signal;
      value = argv[++i];
    } else if (arg.rfind("--max-blocking-ms=", 0) == 0) {
      max_blocking = argv[i] + 18;
    } else if (arg.rfind("--dump-signal=", 0) == 0) {
      dump_signal = argv[i] + 14;
    } else if (arg.rfind("--patch=", 0) == 0) {
      patch = argv[i] + 8;
    } else if (arg.rfind("--stack-size=", 0) == 0) {
      stack_size = argv[i] + 13;
    } else if (arg.size() > 1 && arg[0] == '-') {
      fail("unknown option '" + arg + "'");
    } else {
      break;
    }
  }
  if (i >= argc) fail("no program to run");

  if (patch != nullptr) {
    unsigned families = 0;
    char bad[64];
    if (!green::patch::parse_families(patch, families, bad, sizeof(bad)))
      fail(std::string("--patch: unknown family '") + bad + "' (known: socket, sleep, poll, dns, threads, all)");
    ::setenv("GREEN_PATCH", patch, 1);
  }
  if (stack_size != nullptr) {
    if (!valid_size(stack_size)) fail(std::string("--stack-size: not a size: '") + stack_size + "'");
    ::setenv("GREEN_STACK_SIZE", stack_size, 1);
  }
  if (max_blocking != nullptr) {
    if (!valid_milliseconds(max_blocking))
      fail(std::string("--max-blocking-ms: not a positive whole number of milliseconds: '") + max_blocking + "'");
    ::setenv("GREEN_MAX_BLOCKING_MS", max_blocking, 1);
  }
  if (dump_signal != nullptr) {
    if (!valid_signal(dump_signal))
      fail(std::string("--dump-signal: not USR1, USR2 or a signal number: '") + dump_signal + "'");
    ::setenv("GREEN_DUMP_SIGNAL", dump_signal, 1);
  }
  if (stats) ::setenv("GREEN_STATS", "1", 1);
  if (census) ::setenv("GREEN_STACK_CENSUS", "1", 1);
  if (threads) ::setenv("GREEN_THREADS", "1", 1);
  ::setenv("GREEN_RUN", "1", 1);

  std::string preload = find_patch_library();
  if (const char* existing = std::getenv("LD_PRELOAD"); existing != nullptr && *existing != '\0')
    preload += std::string(":") + existing;
  ::setenv("LD_PRELOAD", preload.c_str(), 1);

  ::execvp(argv[i], argv + i);
  std::fprintf(stderr, "green-run: cannot run '%s': %s\n", argv[i], std::strerror(errno));
  return 127;
}
