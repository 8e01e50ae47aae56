// EINTR storms: SIGALRM every 100 us, with a handler installed without SA_RESTART, while
// every blocking family runs. Each operation must complete with the right data and no
// EINTR (or any other spurious error) may reach the caller.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "faults_util.hpp"

namespace green::faults {
namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

TEST(Eintr, Sleep) {
  SignalStorm storm;
  std::vector<Greenlet<double>> sleepers;
  for (int i = 0; i < 50; ++i)
    sleepers.push_back(spawn([i] {
      const double start = now();
      const double want = 0.01 + 0.002 * (i % 10);
      for (int round = 0; round < 5; ++round) green::sleep(want);
      return (now() - start) / (5 * want);  // never short: a sleep cut by EINTR would be
    }));
  for (auto& g : sleepers) EXPECT_GE(g.get(), 0.99);
  EXPECT_GT(storm.delivered(), 100u);
}

TEST(Eintr, EventQueueLock) {
  SignalStorm storm;
  Queue<int> queue(4);
  Event go;
  Lock lock;
  int in_lock = 0;
  std::vector<int> got;
  auto consumer = spawn([&] {
    go.wait();
    for (int i = 0; i < 2000; ++i) got.push_back(queue.get());
  });
  std::vector<GreenletRef> lockers;
  for (int i = 0; i < 10; ++i)
    lockers.push_back(spawn([&] {
      for (int round = 0; round < 20; ++round) {
        std::lock_guard guard(lock);
        EXPECT_EQ(in_lock++, 0);
        green::sleep(0.0002);
        --in_lock;
      }
    }));
  green::sleep(0.01);
  go.set();
  for (int i = 0; i < 2000; ++i) {
    queue.put(i);
    if (i % 100 == 0) green::sleep(0.001);
  }
  consumer.get();
  joinall(lockers, 10.0, true);
  ASSERT_EQ(got.size(), 2000u);
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(got[i], i);
  EXPECT_GT(storm.delivered(), 50u);
}

// connect, accept, recv, send and sendall, with buffers big enough that sends block.
TEST(Eintr, SocketEcho) {
  SignalStorm storm;
  Socket server = listener();
  const Address address = server.getsockname();
  Group handlers;
  auto acceptor = spawn([&] {
    for (;;) {
      auto [conn, peer] = server.accept();
      handlers.spawn([c = std::move(conn), peer]() mutable { echo(c, peer); });
    }
  });
  std::vector<GreenletRef> clients;
  for (int i = 0; i < 8; ++i)
    clients.push_back(spawn([&, i] {
      Socket sock(AF_INET, SOCK_STREAM);
      sock.connect(address);
      for (int round = 0; round < 4; ++round) {
        const std::string data = pattern(256 * 1024 + i * 77 + round, i * 10 + round);
        EXPECT_EQ(echo_round(sock, data), data);
      }
      // One send() at a time too: each returns at least one byte.
      const std::string small = pattern(1000, i);
      std::size_t sent = 0;
      while (sent < small.size()) sent += sock.send(small.data() + sent, small.size() - sent);
      EXPECT_EQ(sock.recv_exact(small.size()), small);
    }));
  joinall(clients, 30.0, true);
  for (auto& c : clients) EXPECT_TRUE(c.successful());
  acceptor.kill();
  handlers.kill();
  EXPECT_GT(storm.delivered(), 50u);
}

TEST(Eintr, WaitReadWrite) {
  SignalStorm storm;
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
  const std::string data = pattern(1 << 20, 7);
  std::string got;
  auto reader = spawn([&] {
    char buf[4096];
    for (;;) {
      ASSERT_TRUE(wait_read(fds[0], 10.0));
      const ssize_t n = ::read(fds[0], buf, sizeof(buf));
      if (n == 0) return;
      if (n < 0 && errno == EAGAIN) continue;
      ASSERT_GT(n, 0) << std::strerror(errno);
      got.append(buf, static_cast<std::size_t>(n));
    }
  });
  std::size_t done = 0;
  while (done < data.size()) {
    ASSERT_TRUE(wait_write(fds[1], 10.0));
    const ssize_t n = ::write(fds[1], data.data() + done, std::min<std::size_t>(data.size() - done, 7777));
    if (n < 0 && errno == EAGAIN) continue;
    ASSERT_GT(n, 0) << std::strerror(errno);
    done += static_cast<std::size_t>(n);
  }
  ::close(fds[1]);
  reader.get();
  ::close(fds[0]);
  EXPECT_TRUE(got == data);
  EXPECT_GT(storm.delivered(), 10u);
}

// Lookups run on the thread pool's real threads, which the storm interrupts too.
TEST(Eintr, Resolver) {
  SignalStorm storm;
  std::vector<GreenletRef> lookups;
  for (int i = 0; i < 20; ++i)
    lookups.push_back(spawn([] {
      for (int round = 0; round < 5; ++round) {
        const auto infos = getaddrinfo("localhost", "80", AF_INET, SOCK_STREAM);
        ASSERT_FALSE(infos.empty());
        EXPECT_EQ(infos[0].address.host(), "127.0.0.1");
        EXPECT_EQ(infos[0].address.port(), 80);
      }
    }));
  joinall(lookups, 30.0, true);
  for (auto& g : lookups) EXPECT_TRUE(g.successful());
}

TEST(Eintr, Subprocess) {
  SignalStorm storm;
  const std::string input = pattern(1 << 20, 3);
  std::vector<GreenletRef> runs;
  for (int i = 0; i < 4; ++i)
    runs.push_back(spawn([&] {
      Popen cat({"cat"}, PopenOptions{Stdio::pipe, Stdio::pipe, Stdio::pipe});
      auto [out, err] = cat.communicate(input, 20.0);
      EXPECT_TRUE(out == input);
      EXPECT_EQ(err, "");
      EXPECT_EQ(cat.returncode(), 0);
      Popen sleeper({"sleep", "0.1"});
      EXPECT_EQ(sleeper.wait(20.0), 0);
      EXPECT_EQ(check_output({"echo", "hello"}, 20.0), "hello\n");
    }));
  joinall(runs, 60.0, true);
  for (auto& g : runs) EXPECT_TRUE(g.successful());
  EXPECT_GT(storm.delivered(), 10u);
}

TEST(Eintr, WorkerRoundTrips) {
  SignalStorm storm;
  ThreadPool pool(4);
  HubThread other("faults-eintr");
  std::vector<Greenlet<long>> callers;
  for (int i = 0; i < 10; ++i)
    callers.push_back(spawn([&, i] {
      long sum = 0;
      for (int round = 0; round < 50; ++round) {
        sum += pool.apply([i, round] {
          ::usleep(50);  // a real blocking call on the worker, interrupted by the storm
          return static_cast<long>(i * 1000 + round);
        });
        sum += spawn_on(other.hub(), [round] {
                 green::sleep(0.0001);
                 return static_cast<long>(round);
               }).get(10.0);
      }
      return sum;
    }));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(callers[i].get(), 50L * i * 1000 + 2 * (49 * 50 / 2));
  EXPECT_GT(storm.delivered(), 10u);
}

}  // namespace
}  // namespace green::faults
