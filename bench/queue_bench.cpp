// Queue hand-off between two greenlets against boost::fibers::buffered_channel between two
// fibers, and Channel (rendezvous) against boost::fibers::unbuffered_channel. One iteration
// is one item put by the measuring greenlet (fiber) and taken by the consumer.
// Target (issue 3): Queue put+get at least as fast as buffered_channel (ratio <= 1.0).
//
// The argument is the number of items that fit: green::Queue(maxsize = n) against
// buffered_channel(2n), which holds 2n - 1 (its capacity must be a power of two and one
// slot stays empty), so the green queue never holds more than its peer.
#include <benchmark/benchmark.h>

#include <boost/fiber/all.hpp>
#include <green/green.hpp>

#include "ratio.hpp"

namespace {

void BM_QueueHandoff(benchmark::State& state) {
  green::Queue<long> q(static_cast<std::size_t>(state.range(0)));
  long sum = 0;
  auto consumer = green::spawn([&] {
    for (long item : q) sum += item;
  });
  green::spawn([&] {
    long i = 0;
    for (auto _ : state) q.put(i++);
    q.close();
  }).join();
  consumer.join();
  benchmark::DoNotOptimize(sum);
}
BENCHMARK(BM_QueueHandoff)->Arg(1)->Arg(64);

void BM_FiberBufferedChannel(benchmark::State& state) {
  boost::fibers::buffered_channel<long> ch(static_cast<std::size_t>(state.range(0) * 2));
  long sum = 0;
  boost::fibers::fiber consumer([&] {
    for (long item : ch) sum += item;
  });
  boost::fibers::fiber([&] {
    long i = 0;
    for (auto _ : state) ch.push(i++);
    ch.close();
  }).join();
  consumer.join();
  benchmark::DoNotOptimize(sum);
}
BENCHMARK(BM_FiberBufferedChannel)->Arg(1)->Arg(64);

void BM_ChannelHandoff(benchmark::State& state) {
  green::Channel<long> ch;
  long sum = 0;
  auto consumer = green::spawn([&] {
    for (long item : ch) sum += item;
  });
  green::spawn([&] {
    long i = 0;
    for (auto _ : state) ch.put(i++);
    ch.close();
  }).join();
  consumer.join();
  benchmark::DoNotOptimize(sum);
}
BENCHMARK(BM_ChannelHandoff);

void BM_FiberUnbufferedChannel(benchmark::State& state) {
  boost::fibers::unbuffered_channel<long> ch;
  long sum = 0;
  boost::fibers::fiber consumer([&] {
    for (long item : ch) sum += item;
  });
  boost::fibers::fiber([&] {
    long i = 0;
    for (auto _ : state) ch.push(i++);
    ch.close();
  }).join();
  consumer.join();
  benchmark::DoNotOptimize(sum);
}
BENCHMARK(BM_FiberUnbufferedChannel);

// Uncontended cost of a put and a get on one greenlet (no switch): the queue's own overhead.
void BM_QueuePutGetSameGreenlet(benchmark::State& state) {
  green::Queue<long> q;
  long i = 0;
  for (auto _ : state) {
    q.put(i++);
    benchmark::DoNotOptimize(q.get());
  }
}
BENCHMARK(BM_QueuePutGetSameGreenlet);

}  // namespace

GREEN_RATIO(queue_1, "Queue(1) put+get hand-off / buffered_channel(2)", "BM_QueueHandoff/1",
            "BM_FiberBufferedChannel/1", green_bench::at_most(1.0));
GREEN_RATIO(queue_64, "Queue(64) put+get hand-off / buffered_channel(128)", "BM_QueueHandoff/64",
            "BM_FiberBufferedChannel/64", green_bench::at_most(1.0));
GREEN_RATIO(channel, "Channel hand-off / unbuffered_channel (for information)", "BM_ChannelHandoff",
            "BM_FiberUnbufferedChannel", std::nullopt);
