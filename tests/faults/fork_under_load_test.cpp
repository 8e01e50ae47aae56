// Fork under load: a greenlet forks while a StreamServer has live connections mid-
// conversation and other greenlets sleep and wait. Both processes keep serving: the
// parent's connections go on with every byte echoed, sleepers keep ticking, waiters wake,
// and new clients are served on both sides (the listening socket is shared: whichever
// process accepts a connection serves it to the end).
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "faults_util.hpp"

namespace green::faults {
namespace {

// Request/response rounds small enough that sendall never waits for the reader.
bool rounds(Socket& sock, int count, unsigned seed, int* done = nullptr) {
  for (int r = 0; r < count; ++r) {
    const std::string data = pattern(4096 + r % 7, seed * 1000 + static_cast<unsigned>(r));
    sock.sendall(data);
    if (sock.recv_exact(data.size()) != data) return false;
    if (done != nullptr) ++*done;
  }
  return true;
}

bool new_clients(int port, int count) {
  std::vector<Greenlet<bool>> clients;
  for (int i = 0; i < count; ++i)
    clients.push_back(spawn([port, i] {
      Socket sock = create_connection("127.0.0.1", port, 10.0);
      return rounds(sock, 20, 500 + static_cast<unsigned>(i));
    }));
  bool ok = true;
  for (auto& c : clients) {
    try {
      ok = c.get(20.0) && ok;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "client failed: %s\n", e.what());
      ok = false;
    }
  }
  return ok;
}

TEST(ForkUnderLoad, BothSidesKeepServing) {
  StreamServer server(Address::ip("127.0.0.1", 0), echo);
  server.start();
  const int port = server.address().port();

  int ticks = 0;
  bool stop = false;
  std::vector<GreenletRef> sleepers;
  for (int i = 0; i < 10; ++i)
    sleepers.push_back(spawn([&] {
      while (!stop) {
        green::sleep(0.002);
        ++ticks;
      }
    }));
  Event gate;
  Queue<int> queue;
  int woken = 0;
  std::vector<GreenletRef> waiters;
  for (int i = 0; i < 5; ++i) waiters.push_back(spawn([&] { gate.wait(); ++woken; }));
  for (int i = 0; i < 5; ++i) waiters.push_back(spawn([&] { woken += queue.get() > 0; }));

  // Live connections, mid-conversation at the fork.
  constexpr int kLive = 6;
  int done[kLive] = {};
  bool live_ok[kLive] = {};
  std::vector<GreenletRef> live;
  for (int i = 0; i < kLive; ++i)
    live.push_back(spawn([&, i] {
      Socket sock = create_connection("127.0.0.1", port, 10.0);
      live_ok[i] = rounds(sock, 3, static_cast<unsigned>(i), &done[i]);
      if (!live_ok[i]) return;
      while (!stop && live_ok[i]) live_ok[i] = rounds(sock, 1, static_cast<unsigned>(i) * 7 + 3, &done[i]);
    }));
  ASSERT_TRUE(test::yield_until([&] {
    for (int d : done)
      if (d < 3) return false;
    return true;
  }));
  ASSERT_EQ(server.connection_count(), static_cast<std::size_t>(kLive));

  pid_t pid = -1;
  spawn([&] { pid = green::fork(); }).get();
  ASSERT_GE(pid, 0);

  if (pid == 0) {
    // The child. Its copies of the parent's connections (clients and handlers) would
    // compete with the parent for the same bytes: drop them, as a forking server does.
    auto check = [](bool ok, const char* what) {
      if (!ok) {
        std::fprintf(stderr, "fork child: %s\n", what);
        std::_Exit(1);
      }
    };
    try {
      killall(live);
      server.pool().kill();
      const int before = ticks;
      green::sleep(0.05);
      check(ticks > before, "sleepers stopped ticking");
      gate.set();
      for (int i = 0; i < 5; ++i) queue.put(1);
      check(joinall(waiters, 10.0).size() == waiters.size() && woken == 10, "waiters did not wake");
      check(new_clients(port, 4), "new clients were not served");
      server.stop(10.0);  // serves to the end what it accepted, then leaves the parent alone
      stop = true;
      check(joinall(sleepers, 10.0).size() == sleepers.size(), "sleepers did not stop");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "fork child: %s\n", e.what());
      std::_Exit(1);
    }
    std::_Exit(0);
  }

  // The parent: the live connections go on.
  int at_fork[kLive];
  for (int i = 0; i < kLive; ++i) at_fork[i] = done[i];
  const int before = ticks;
  gate.set();
  for (int i = 0; i < 5; ++i) queue.put(1);
  EXPECT_EQ(joinall(waiters, 10.0).size(), waiters.size());
  EXPECT_EQ(woken, 10);
  EXPECT_TRUE(new_clients(port, 4));
  EXPECT_TRUE(test::yield_until([&] {
    for (int i = 0; i < kLive; ++i)
      if (done[i] < at_fork[i] + 20) return false;
    return true;
  }));
  EXPECT_GT(ticks, before);

  // The child's exit, waited for cooperatively (the parent keeps serving meanwhile).
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  ASSERT_GE(pidfd, 0);
  EXPECT_TRUE(wait_read(pidfd, 60.0)) << "the child did not finish";
  ::close(pidfd);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;

  stop = true;
  EXPECT_EQ(joinall(live, 10.0).size(), live.size());
  for (int i = 0; i < kLive; ++i) EXPECT_TRUE(live_ok[i]) << "connection " << i << " lost or garbled bytes";
  EXPECT_EQ(joinall(sleepers, 10.0).size(), sleepers.size());
  server.stop(5.0);
}

}  // namespace
}  // namespace green::faults
