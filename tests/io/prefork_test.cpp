#include "green/prefork.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <string>
#include <vector>

#include "io_test_util.hpp"

namespace {

using green::Address;
using green::PreforkServer;
using green::Socket;

// Tells the client which process serves it, then echoes.
void pid_echo(Socket& conn, const Address&) {
  conn.sendall(std::to_string(::getpid()) + "\n");
  char buf[4096];
  while (std::size_t n = conn.recv(buf, sizeof(buf))) conn.sendall(buf, n);
}

Socket connect_to(const Address& address) {
  Socket c(address.family(), SOCK_STREAM);
  c.settimeout(10.0);
  c.connect(address);
  return c;
}

pid_t read_pid(Socket& c) {
  const std::string line = c.recv_until("\n");
  return static_cast<pid_t>(std::stol(line));
}

bool gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

std::set<pid_t> live(const PreforkServer& server) {
  std::vector<pid_t> pids = server.pids();
  return {pids.begin(), pids.end()};
}

// With max_connections 1 a busy worker stops accepting, so n open connections land on n
// different workers: who served each one is deterministic.
TEST(PreforkServer, SpreadsConnectionsOverEveryProcessAndEchoesEveryByte) {
  constexpr int kProcesses = 3;
  PreforkServer server(kProcesses, Address::ip("127.0.0.1", 0), pid_echo, 1);
  server.start();
  ASSERT_GT(server.address().port(), 0);
  auto served = green::spawn([&] { return server.serve_forever(); });
  std::vector<Socket> conns;
  std::set<pid_t> seen;
  for (int i = 0; i < kProcesses; ++i) {
    conns.push_back(connect_to(server.address()));
    seen.insert(read_pid(conns.back()));
  }
  EXPECT_EQ(seen, live(server));
  EXPECT_EQ(seen.count(::getpid()), 0u);
  for (std::size_t i = 0; i < conns.size(); ++i) {
    std::string data(50000 + i, '\0');
    for (std::size_t j = 0; j < data.size(); ++j) data[j] = static_cast<char>((j * 7 + i) % 253);
    conns[i].sendall(data);
    EXPECT_EQ(conns[i].recv_exact(data.size()), data);
  }
  conns.clear();
  server.stop();
  EXPECT_EQ(served.get(30.0), std::vector<int>(kProcesses, 0));  // every worker stopped cleanly
  for (pid_t pid : seen) EXPECT_TRUE(gone(pid)) << pid;  // and was reaped
  EXPECT_EQ(server.restarts(), 0u);
}

TEST(PreforkServer, ReusePortGivesEachWorkerItsOwnSocket) {
  constexpr int kProcesses = 3;
  constexpr int kClients = 60;  // all on two workers of three: about 3 * (2/3)^60, 1e-10
  PreforkServer server(kProcesses, Address::ip("127.0.0.1", 0), pid_echo);
  server.set_reuse_port(true);
  server.start();
  ASSERT_GT(server.address().port(), 0);
  std::set<pid_t> seen;
  std::vector<green::GreenletRef> clients;
  for (int i = 0; i < kClients; ++i)
    clients.push_back(green::spawn([&, i] {
      Socket c = connect_to(server.address());
      seen.insert(read_pid(c));
      const std::string data(1000 + static_cast<std::size_t>(i) * 131, static_cast<char>('a' + i % 26));
      c.sendall(data);
      EXPECT_EQ(c.recv_exact(data.size()), data);
    }));
  EXPECT_EQ(green::joinall(clients, 60.0, true).size(), clients.size());
  EXPECT_EQ(seen, live(server));
  server.stop();
  EXPECT_THROW(
      [] {
        PreforkServer unix_server(1, Address::unix_path("/tmp/green-prefork-no.sock"), pid_echo);
        unix_server.set_reuse_port(true);
        unix_server.start();
      }(),
      std::invalid_argument);
}

TEST(PreforkServer, AHandlerExceptionDoesNotKillTheWorker) {
  PreforkServer server(1, Address::ip("127.0.0.1", 0), [](Socket& conn, const Address& peer) {
    if (conn.recv_until("\n") == "boom\n") throw std::runtime_error("boom from a handler");
    pid_echo(conn, peer);
  });
  server.start();
  const pid_t worker = server.pids().at(0);
  Socket bad = connect_to(server.address());
  bad.sendall("boom\n");
  EXPECT_EQ(bad.recv(10), "");  // the handler failed: its connection closes
  Socket good = connect_to(server.address());
  good.sendall("hello\n");
  EXPECT_EQ(read_pid(good), worker);  // the same worker serves on
  good.close();
  server.stop();
  EXPECT_EQ(server.restarts(), 0u);
}

TEST(PreforkServer, RestartsAWorkerThatDies) {
  PreforkServer server(2, Address::ip("127.0.0.1", 0), pid_echo, 1);
  green::Event exited;
  int exited_slot = -1, exited_status = 0;
  pid_t exited_pid = 0;
  server.set_child_exit_handler([&](int slot, pid_t pid, int status) {
    exited_slot = slot;
    exited_pid = pid;
    exited_status = status;
    exited.set();
  });
  server.start();
  const std::vector<pid_t> before = server.pids();
  ASSERT_EQ(::kill(before[0], SIGKILL), 0);
  ASSERT_TRUE(exited.wait(30.0));
  EXPECT_EQ(exited_slot, 0);
  EXPECT_EQ(exited_pid, before[0]);
  EXPECT_EQ(exited_status, -SIGKILL);
  // It lived less than a second: the replacement comes after a second's pause.
  ASSERT_TRUE(green::test::yield_until([&] { return server.restarts() == 1 && server.pids()[0] != 0; }));
  const std::vector<pid_t> after = server.pids();
  EXPECT_NE(after[0], before[0]);
  EXPECT_EQ(after[1], before[1]);
  // Both workers serve, the new one included.
  Socket a = connect_to(server.address()), b = connect_to(server.address());
  EXPECT_EQ((std::set<pid_t>{read_pid(a), read_pid(b)}), live(server));
  a.close();
  b.close();
  server.stop();
  EXPECT_TRUE(gone(after[0]));
  EXPECT_TRUE(gone(after[1]));
}

TEST(PreforkServer, SigtermToTheParentStopsEveryWorker) {
  const std::string path = "/tmp/green-prefork-" + std::to_string(::getpid()) + ".sock";
  ::unlink(path.c_str());
  const Address address = Address::unix_path(path);
  std::set<pid_t> workers;
  auto client = green::spawn([&] {
    struct Stop {  // serve_prefork's handler stops the workers, whatever happens here
      ~Stop() { ::raise(SIGTERM); }
    } stop;
    Socket a, b;
    const bool up = green::test::yield_until([&] {  // until serve_prefork listens
      Socket attempt(AF_UNIX, SOCK_STREAM);
      if (attempt.connect_ex(address) != 0) return false;
      a = std::move(attempt);
      return true;
    });
    ASSERT_TRUE(up);
    a.settimeout(10.0);
    workers.insert(read_pid(a));
    b = connect_to(address);
    workers.insert(read_pid(b));  // a's worker is busy (max_connections 1): another one
  });
  const std::vector<int> statuses = green::serve_prefork(2, address, pid_echo, 1);
  client.get(10.0);
  ::unlink(path.c_str());
  EXPECT_EQ(statuses, (std::vector<int>{0, 0}));  // SIGTERM forwarded: both stopped cleanly
  EXPECT_EQ(workers.size(), 2u);
  for (pid_t pid : workers) EXPECT_TRUE(gone(pid)) << pid;  // stopped and reaped: nothing left
}

TEST(PreforkServer, WorkersStopWhenTheParentDies) {
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  const pid_t parent = green::fork();
  if (parent == 0) {
    // An intermediate parent that reports its worker's pid, then waits to be killed.
    ::close(report[0]);
    PreforkServer server(1, Address::ip("127.0.0.1", 0), pid_echo);
    server.start();
    const std::string pid = std::to_string(server.pids()[0]) + "\n";
    (void)!::write(report[1], pid.data(), pid.size());
    server.serve_forever();
    ::_exit(0);
  }
  ::close(report[1]);
  ASSERT_TRUE(green::wait_read(report[0], 30.0));
  char buf[32] = {};
  ASSERT_GT(::read(report[0], buf, sizeof(buf) - 1), 0);
  ::close(report[0]);
  const pid_t worker = static_cast<pid_t>(std::stol(buf));
  const int worker_fd = static_cast<int>(::syscall(SYS_pidfd_open, worker, 0));
  ASSERT_GE(worker_fd, 0);
  ::kill(parent, SIGKILL);  // no chance to stop its worker
  ::waitpid(parent, nullptr, 0);
  EXPECT_TRUE(green::wait_read(worker_fd, 30.0));  // the worker saw the pipe close and exited
  ::close(worker_fd);
}

TEST(PreforkServer, BadArguments) {
  EXPECT_THROW(PreforkServer(0, Address::ip("127.0.0.1", 0), pid_echo), std::invalid_argument);
  EXPECT_THROW(PreforkServer(1, Address::ip("127.0.0.1", 0), nullptr), std::invalid_argument);
  EXPECT_THROW(PreforkServer(1, Address::ip("127.0.0.1", 0), pid_echo, 0), std::invalid_argument);
  PreforkServer server(1, Address::ip("127.0.0.1", 0), pid_echo);
  EXPECT_THROW(server.set_child_stop_timeout(-1), std::invalid_argument);
  server.start();
  EXPECT_THROW(server.start(), std::logic_error);
}

}  // namespace
