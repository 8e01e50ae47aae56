// Start-up of the patch layer: under green-run, the main thread becomes the main greenlet
// of a hub before main() runs, so its blocking calls are cooperative from the first one.
#include "config.hpp"
#include "green/hub.hpp"

namespace {
__attribute__((constructor)) void green_patch_init() {
  const auto& config = green::patch::Config::get();
  if (config.under_green_run) green::get_hub();
}
}  // namespace
