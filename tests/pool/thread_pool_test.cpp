#include <gtest/gtest.h>
#include <green/green.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

struct CustomError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Blocks a worker (not a greenlet) until `flag` is set, bounded so a broken test ends.
void wait_on_worker(const std::atomic<bool>& flag) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!flag.load() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

TEST(ThreadPool, RunsOnAnotherThreadAndReturnsTheResult) {
  green::ThreadPool pool(2);
  auto result = pool.spawn([](int a, std::string b) { return b + std::to_string(a); }, 4, std::string("x"));
  EXPECT_EQ(result.get(5.0), "x4");
  auto where = pool.submit([] { return std::this_thread::get_id(); });
  EXPECT_NE(where.get(5.0), std::this_thread::get_id());
  EXPECT_EQ(pool.apply([](int a, int b) { return a * b; }, 6, 7), 42);
  pool.apply([] {});  // void
  EXPECT_LE(pool.threads(), 2u);
  EXPECT_EQ(pool.maxsize(), 2u);
}

TEST(ThreadPool, ZeroThreadsIsRejected) {
  EXPECT_THROW(green::ThreadPool(0), std::invalid_argument);
}

TEST(ThreadPool, ExceptionsCrossBackWithTheirType) {
  green::ThreadPool pool(1);
  auto result = pool.spawn([]() -> int { throw CustomError("from a worker"); });
  EXPECT_TRUE(result.wait(5.0));
  EXPECT_FALSE(result.successful());
  EXPECT_THROW(result.get(), CustomError);
  EXPECT_THROW(pool.apply([] { throw std::out_of_range("range"); }), std::out_of_range);
}

TEST(ThreadPool, AWaitingGreenletDoesNotBlockItsHub) {
  green::ThreadPool pool(1);
  std::atomic<bool> release{false};
  auto job = pool.spawn([&] {
    wait_on_worker(release);
    return 7;
  });
  // While main waits on the job, another greenlet on this hub runs and releases it: the
  // wait is cooperative.
  auto other = green::spawn([&] {
    green::sleep(0.01);
    release = true;
  });
  EXPECT_EQ(job.get(10.0), 7);
  other.get();
}

TEST(ThreadPool, ManyGreenletsWaitOnJobsAtOnce) {
  green::ThreadPool pool(4);
  std::vector<green::Greenlet<int>> waiters;
  for (int i = 0; i < 200; ++i)
    waiters.push_back(green::spawn([&pool, i] { return pool.apply([i] { return i * 2; }); }));
  long sum = 0;
  for (auto& g : waiters) sum += g.get(30.0);
  EXPECT_EQ(sum, 2L * (199 * 200 / 2));
  EXPECT_LE(pool.threads(), 4u);
}

TEST(ThreadPool, AJobInFlightKeepsTheHubFromLoopExit) {
  // Nothing but the job can wake main: the wait must block, not throw LoopExit.
  green::ThreadPool pool(1);
  auto job = pool.spawn([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return 1;
  });
  EXPECT_EQ(job.get(), 1);
}

TEST(ThreadPool, IdleWorkersDoNotHideLoopExit) {
  green::ThreadPool pool(3);
  for (int i = 0; i < 3; ++i) pool.apply([] { std::this_thread::sleep_for(std::chrono::milliseconds(1)); });
  ASSERT_TRUE(pool.join(5.0));
  (void)green::get_hub().threadpool().apply([] {});
  green::Event never;
  EXPECT_THROW(never.wait(), green::LoopExit);
}

TEST(ThreadPool, WorkersComingAndGoingNeverEndAnotherThreadsWaitingHub) {
  // The waiting hub below has one hope, this thread. Counting the pools' idle workers, it
  // must never take a worker that is still starting, or already leaving, for a parked
  // thread that exists: it would count this thread out and end with a false LoopExit.
  // Every job pokes that hub, so it decides again while workers start and stop.
  std::atomic<green::Hub*> hub{nullptr};
  std::atomic<bool> loop_exit{false}, finished{false};
  green::AsyncResult<void> release;
  std::thread waiting([&] {
    hub = &green::get_hub();
    try {
      release.get();
    } catch (const green::LoopExit&) {
      loop_exit = true;
      while (!finished) std::this_thread::sleep_for(std::chrono::milliseconds(1));  // keep the hub alive
    }
  });
  while (hub.load() == nullptr) std::this_thread::yield();
  for (int round = 0; round < 300 && !loop_exit; ++round) {
    green::ThreadPool pool(4);
    std::vector<green::Greenlet<void>> jobs;
    for (int i = 0; i < 8; ++i)
      jobs.push_back(green::spawn([&] { pool.apply([&] { hub.load()->call_threadsafe([] {}); }); }));
    green::joinall(jobs);
  }
  finished = true;
  release.set();
  waiting.join();
  EXPECT_FALSE(loop_exit.load());
}

TEST(ThreadPool, SeveralHubsShareOnePool) {
  green::ThreadPool pool(3);
  constexpr int kThreads = 4;
  constexpr int kGreenlets = 25;
  std::vector<long> sums(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      std::vector<green::Greenlet<long>> gs;
      for (int i = 0; i < kGreenlets; ++i)
        gs.push_back(green::spawn([&pool, t, i] {
          long total = 0;
          for (int k = 0; k < 4; ++k) total += pool.submit([=] { return long(t * 1000 + i * 10 + k); }).get(30.0);
          return total;
        }));
      for (auto& g : gs) sums[t] += g.get(60.0);
    });
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    long expected = 0;
    for (int i = 0; i < kGreenlets; ++i)
      for (int k = 0; k < 4; ++k) expected += t * 1000 + i * 10 + k;
    EXPECT_EQ(sums[t], expected) << "thread " << t;
  }
}

TEST(ThreadPool, EachHubHasItsOwnDefaultPool) {
  green::ThreadPool* mine = &green::get_hub().threadpool();
  EXPECT_EQ(mine, &green::get_hub().threadpool());
  EXPECT_EQ(mine->maxsize(), 10u);
  green::ThreadPool* theirs = nullptr;
  std::thread([&] {
    theirs = &green::get_hub().threadpool();
    EXPECT_EQ(theirs->apply([] { return 5; }), 5);
  }).join();
  EXPECT_NE(mine, theirs);
}

TEST(ThreadPool, DefaultSizeComesFromTheEnvironment) {
  std::thread([] {
    ::setenv("GREEN_THREADPOOL_SIZE", "3", 1);
    EXPECT_EQ(green::get_hub().threadpool().maxsize(), 3u);
    ::unsetenv("GREEN_THREADPOOL_SIZE");
  }).join();
  std::thread([] {
    ::setenv("GREEN_THREADPOOL_SIZE", "lots", 1);
    EXPECT_THROW(green::get_hub().threadpool(), std::invalid_argument);
    ::unsetenv("GREEN_THREADPOOL_SIZE");
  }).join();
}

TEST(ThreadPool, AnotherThreadsHubPoolIsNotReachable) {
  green::Hub& hub = green::get_hub();
  std::thread([&] { EXPECT_THROW(hub.threadpool(), std::logic_error); }).join();
}

TEST(ThreadPool, DestructionCancelsQueuedJobsAndFinishesRunningOnes) {
  green::AsyncResult<void> started;
  std::atomic<bool> release{false};
  green::AsyncResult<int> running, queued1, queued2;
  std::thread releaser;
  {
    green::ThreadPool pool(1);
    running = pool.spawn([&] {
      started.set();
      wait_on_worker(release);
      return 1;
    });
    queued1 = pool.spawn([] { return 2; });
    queued2 = pool.spawn([] { return 3; });
    started.get(10.0);
    releaser = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      release = true;
    });
  }  // joins the worker: blocks until `running` is done
  releaser.join();
  EXPECT_EQ(running.get(0.0), 1);
  EXPECT_THROW(queued1.get(0.0), green::CancelledError);
  EXPECT_THROW(queued2.get(0.0), green::CancelledError);
}

TEST(ThreadPool, SubmitAfterShutdownThrows) {
  green::ThreadPool pool(2);
  EXPECT_EQ(pool.apply([] { return 1; }), 1);
  pool.shutdown();
  EXPECT_THROW(pool.spawn([] {}), std::logic_error);
  pool.shutdown();  // twice is fine
}

TEST(ThreadPool, JoinWaitsCooperativelyForEveryJob) {
  green::ThreadPool pool(2);
  std::atomic<bool> release{false};
  std::atomic<int> done{0};
  for (int i = 0; i < 6; ++i)
    pool.spawn([&] {
      wait_on_worker(release);
      ++done;
    });
  EXPECT_EQ(pool.pending(), 6u);
  EXPECT_FALSE(pool.join(0.02));
  auto releaser = green::spawn([&] { release = true; });
  EXPECT_TRUE(pool.join(30.0));
  EXPECT_EQ(done.load(), 6);
  EXPECT_EQ(pool.pending(), 0u);
  releaser.get();
}

TEST(ThreadPool, TheFunctionIsDestroyedBeforeTheResultIsSet) {
  green::ThreadPool pool(1);
  auto token = std::make_shared<int>(1);
  auto result = pool.spawn([token] { return *token; });
  EXPECT_EQ(result.get(5.0), 1);
  EXPECT_EQ(token.use_count(), 1);
}

TEST(ThreadPool, AKilledWaiterLeavesTheJobRunning) {
  green::ThreadPool pool(1);
  std::atomic<bool> release{false};
  green::AsyncResult<int> job;
  auto waiter = green::spawn([&] {
    job = pool.spawn([&] {
      wait_on_worker(release);
      return 9;
    });
    return job.get();
  });
  green::sleep(0.01);
  waiter.kill();
  EXPECT_TRUE(waiter.dead());
  release = true;
  EXPECT_EQ(job.get(10.0), 9);
}

TEST(ThreadPool, AJobMayOutliveTheHubThatSubmittedIt) {
  green::ThreadPool pool(1);
  green::AsyncResult<int> job;
  std::thread([&] {
    green::get_hub();  // the job counts as outstanding work on this hub
    job = pool.spawn([] {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      return 3;
    });
  }).join();  // the hub died with its thread; the job ends later
  // Nothing counts the job on this hub and no other thread runs: the busy worker is what
  // keeps main's wait (no timeout, no watcher) from ending in LoopExit.
  EXPECT_EQ(job.get(), 3);
}

TEST(ThreadPool, ASetFromAnotherThreadWakesEveryWaiter) {
  green::ThreadPool pool(1);
  std::atomic<bool> release{false};
  auto job = pool.spawn([&] {
    wait_on_worker(release);
    return 11;
  });
  std::vector<green::Greenlet<int>> waiters;
  for (int i = 0; i < 10; ++i) waiters.push_back(green::spawn([job] { return job.get(); }));
  green::sleep(0.005);
  release = true;
  for (auto& w : waiters) EXPECT_EQ(w.get(10.0), 11);
}

void fork_with_jobs_in_flight() {
  green::ThreadPool pool(1);
  std::atomic<bool> release{false};
  green::AsyncResult<void> started;
  auto running = pool.spawn([&] {
    started.set();
    wait_on_worker(release);
    return 1;
  });
  auto queued = pool.spawn([] { return 2; });
  started.get(10.0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child has no worker: what the parent's pool held is cancelled here, and a new
    // job starts a new worker. (Polls instead of waiting on the hub: the core does not
    // re-initialise the event loop after fork yet.)
    int code = 0;
    if (!running.ready() || running.successful()) code |= 1;
    if (!queued.ready() || queued.successful()) code |= 2;
    try {
      std::rethrow_exception(queued.exception());
    } catch (const green::CancelledError&) {
    } catch (...) {
      code |= 4;
    }
    auto fresh = pool.spawn([] { return 3; });
    for (int i = 0; i < 10000 && !fresh.ready(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!fresh.ready() || fresh.get(0.0) != 3) code |= 8;
    ::_exit(code);
  }
  release = true;
  EXPECT_EQ(running.get(10.0), 1);  // the parent's jobs run on in the parent
  EXPECT_EQ(queued.get(10.0), 2);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "bit 1: running job, 2: queued job, 4: not CancelledError, 8: new job";
}

TEST(ThreadPool, AForkedChildStartsWithAnEmptyPool) {
  // On its own thread: the main thread's hub has libev's default loop, whose SIGCHLD
  // watcher would reap the child before waitpid could.
  std::thread(fork_with_jobs_in_flight).join();
}

}  // namespace
