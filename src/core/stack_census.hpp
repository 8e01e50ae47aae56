// The stack census's recording side (include/green/stack_census.hpp is the reading side).
#pragma once

#include <typeinfo>

#include "green/raw_greenlet.hpp"

namespace green::detail {
// Measures how deep `stack` was written, records it under `site`, and gives the stack's
// pages back so the next greenlet on it is measured from zero. Census mode only.
void census_record(const Stack& stack, const std::type_info* site) noexcept;
}  // namespace green::detail
