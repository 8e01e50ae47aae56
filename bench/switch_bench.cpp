// Context switch cost: a RawGreenlet ping-pong against a raw boost::context::fiber
// ping-pong in the same binary. One iteration is a round trip (two switches).
// Target (issue 2): RawGreenlet at most 1.3x the raw fiber.
#include <benchmark/benchmark.h>

#include <boost/context/fiber.hpp>
#include <green/raw_greenlet.hpp>

#include "ratio.hpp"

namespace {

void BM_FiberSwitch(benchmark::State& state) {
  bool done = false;
  boost::context::fiber other([&done](boost::context::fiber&& back) {
    while (!done) back = std::move(back).resume();
    return std::move(back);
  });
  for (auto _ : state) other = std::move(other).resume();
  done = true;
  other = std::move(other).resume();
}
BENCHMARK(BM_FiberSwitch);

void BM_RawGreenletSwitch(benchmark::State& state) {
  green::RawGreenlet& main = green::RawGreenlet::current();
  bool done = false;
  green::RawGreenlet other([&] {
    while (!done) main.switch_to();
  });
  for (auto _ : state) other.switch_to();
  done = true;
  other.switch_to();
}
BENCHMARK(BM_RawGreenletSwitch);

}  // namespace

GREEN_RATIO(switch_vs_fiber, "RawGreenlet round trip / boost::context::fiber round trip",
            "BM_RawGreenletSwitch", "BM_FiberSwitch", green_bench::at_most(1.3));
