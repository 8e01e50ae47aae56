// Helpers shared by the sync tests.
#pragma once

#include <green/green.hpp>

namespace sync_test {

// Lets every ready greenlet run until it blocks: spawned greenlets run on the hub's next
// pass, and each sleep(0) is one pass.
inline void settle(int passes = 3) {
  for (int i = 0; i < passes; ++i) green::sleep(0);
}

}  // namespace sync_test
