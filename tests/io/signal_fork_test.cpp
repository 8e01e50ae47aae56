#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <set>
#include <string>

#include "io_test_util.hpp"

namespace {

using green::Address;
using green::Socket;
using green::StreamServer;

TEST(Signal, ASignalHandlerStopsAServer) {
  StreamServer server(Address::ip("127.0.0.1", 0), [](Socket& conn, const Address&) { conn.sendall("hi"); });
  green::GreenletRef ran_in;
  auto handler = green::signal_handler(SIGUSR1, [&] {
    ran_in = green::getcurrent();
    green::sleep(0.001);  // the callback runs in a greenlet: it may block
    server.stop();
  });
  server.start();
  auto client = green::spawn([&] {
    Socket c(AF_INET, SOCK_STREAM);
    c.connect(server.address());
    EXPECT_EQ(c.recv_exact(2), "hi");
    ::kill(::getpid(), SIGUSR1);
  });
  server.serve_forever();  // returns once the handler stopped the server
  client.get(5.0);
  EXPECT_TRUE(server.closed());
  ASSERT_TRUE(ran_in);
  EXPECT_NE(ran_in.name().find("signal_handler"), std::string::npos);
  handler.cancel();
  EXPECT_FALSE(handler.active());
}

TEST(Signal, EachDeliveryRunsTheCallbackAndCancelStopsIt) {
  int count = 0;
  green::Event got;
  auto handler = green::signal_handler(SIGUSR2, [&] {
    ++count;
    got.set();
  });
  for (int i = 1; i <= 3; ++i) {
    got.clear();
    ::kill(::getpid(), SIGUSR2);
    ASSERT_TRUE(got.wait(5.0));
    EXPECT_EQ(count, i);
  }
  EXPECT_THROW(green::signal_handler(SIGKILL, [] {}), std::invalid_argument);
  EXPECT_THROW(green::signal_handler(SIGUSR2, nullptr), std::invalid_argument);
}

TEST(Fork, ForkFromAGreenletAndBothSidesKeepServing) {
  StreamServer server(Address::ip("127.0.0.1", 0), [](Socket& conn, const Address&) {
    conn.sendall(std::to_string(::getpid()) + "\n");
  });
  server.start();
  int quit[2];
  ASSERT_EQ(::pipe(quit), 0);
  auto forker = green::spawn([&]() -> std::size_t {
    const pid_t child = green::fork();
    if (child == 0) {
      // The child: the server greenlets go on serving until the parent says stop.
      ::close(quit[1]);
      green::wait_read(quit[0], 30.0);
      ::_exit(server.connection_count() > 100 ? 1 : 0);
    }
    ::close(quit[0]);
    // Both processes accept on the same listening socket: connect until both answered.
    std::set<std::string> pids;
    for (int i = 0; i < 2000 && pids.size() < 2; ++i) {
      Socket c(AF_INET, SOCK_STREAM);
      c.settimeout(10.0);
      c.connect(server.address());
      pids.insert(c.recv_until("\n"));
      green::sleep(0.001);
    }
    ::close(quit[1]);
    int status = -1;
    for (int i = 0; i < 1000 && ::waitpid(child, &status, WNOHANG) == 0; ++i) green::sleep(0.01);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    return pids.size();
  });
  EXPECT_EQ(forker.get(60.0), 2u);
  // The parent still serves.
  Socket c(AF_INET, SOCK_STREAM);
  c.connect(server.address());
  EXPECT_EQ(c.recv_until("\n"), std::to_string(::getpid()) + "\n");
}

}  // namespace
