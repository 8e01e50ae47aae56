// green/stack_census.hpp: how much stack each spawn site really uses.
//
// With GREEN_STACK_CENSUS=1 in the environment, every greenlet's stack is measured when
// the greenlet ends (the deepest byte it wrote), and the figures are kept per spawn site:
// the type of the function passed to spawn, which names the enclosing function of a
// lambda. The census is printed on stderr at exit, and stack_census() reads it at any
// time. It costs a syscall or two per greenlet, so it is for sizing stacks (then pass
// SpawnOptions::stack_size, as small as 16 KiB, or set GREEN_STACK_SIZE), not for
// production. Without the variable it costs nothing and stack_census() is empty.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace green {

struct StackUsage {
  std::string site;          // demangled type of the spawned function
  std::size_t greenlets;     // how many ended
  std::size_t max_used;      // bytes, the deepest any of them reached
  std::size_t stack_size;    // bytes, the largest stack they were given
};

bool stack_census_enabled() noexcept;
// Sorted by max_used, deepest first.
std::vector<StackUsage> stack_census();
std::string format_stack_census();

}  // namespace green
