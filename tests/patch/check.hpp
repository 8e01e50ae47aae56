// CHECK for the patch-layer test programs (C++): they run under green-run or link the
// patch layer themselves, without GoogleTest, and fail by exiting 1 with the condition
// and errno.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#define CHECK(cond)                                                                                 \
  do {                                                                                              \
    if (!(cond)) {                                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s (errno %d: %s)\n", __FILE__, __LINE__, #cond,   \
                   errno, std::strerror(errno));                                                    \
      std::exit(1);                                                                                 \
    }                                                                                               \
  } while (0)
