#include "green/server_threads.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "io_test_util.hpp"

namespace {

using green::Address;
using green::ServerThreads;
using green::Socket;

// Tells the client which OS thread serves it, then echoes.
void tid_echo(Socket& conn, const Address&) {
  conn.sendall(std::to_string(::gettid()) + "\n");
  char buf[4096];
  while (std::size_t n = conn.recv(buf, sizeof(buf))) conn.sendall(buf, n);
}

Socket connect_to(const Address& address) {
  Socket c(AF_INET, SOCK_STREAM);
  c.settimeout(10.0);
  c.connect(address);
  return c;
}

std::string pattern(std::size_t size, int seed) {
  std::string data(size, '\0');
  for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>((i * 31 + static_cast<std::size_t>(seed)) % 251);
  return data;
}

// start() waits for each thread's hub to come up; a stop() that runs meanwhile (a signal
// handler's greenlet) must wait for every thread start() is still creating, and return only
// once every server has stopped and closed its listener.
TEST(ServerThreads, StopDuringStartWaitsForEveryThread) {
  ServerThreads servers(4, Address::ip("127.0.0.1", 0), tid_echo);
  bool stopped = false;
  bool refused = false;
  green::GreenletRef stopper = green::spawn([&] {
    servers.stop(5.0);
    stopped = servers.closed();
    Socket c(AF_INET, SOCK_STREAM);
    try {
      c.settimeout(5.0);
      c.connect(servers.address());
    } catch (const std::system_error& e) {
      refused = e.code() == std::errc::connection_refused;
    }
  });
  servers.serve_forever();
  green::joinall({stopper}, 10.0, true);
  EXPECT_TRUE(stopped);
  EXPECT_TRUE(refused) << "a server was still listening after stop() returned";
}

TEST(ServerThreads, SpreadsConnectionsOverEveryThreadAndEchoesEveryByte) {
  constexpr int kThreads = 3;
  constexpr int kClients = 60;  // all on one thread of three: (2/3)^59 * 3, about 1e-10
  ServerThreads servers(kThreads, Address::ip("127.0.0.1", 0), tid_echo);
  servers.start();
  const Address address = servers.address();
  ASSERT_GT(address.port(), 0);  // port 0: the first socket picked it, the others joined it
  std::set<std::string> tids;
  std::size_t echoed = 0, sent = 0;
  std::vector<green::GreenletRef> clients;
  for (int i = 0; i < kClients; ++i) {
    const std::string data = pattern(10000 + static_cast<std::size_t>(i) * 997, i);
    sent += data.size();
    clients.push_back(green::spawn([&, data] {
      Socket c = connect_to(address);
      tids.insert(c.recv_until("\n"));
      c.sendall(data);
      EXPECT_EQ(c.recv_exact(data.size()), data);
      echoed += data.size();
    }));
  }
  EXPECT_EQ(green::joinall(clients, 60.0, true).size(), clients.size());
  EXPECT_EQ(echoed, sent);
  EXPECT_EQ(tids.size(), static_cast<std::size_t>(kThreads));
  EXPECT_EQ(tids.count(std::to_string(::gettid()) + "\n"), 0u);  // none served here
  servers.stop();
  EXPECT_TRUE(servers.closed());
  Socket late(AF_INET, SOCK_STREAM);
  EXPECT_THROW(late.connect(address), std::system_error);
}

TEST(ServerThreads, StopFromAnotherOsThreadEndsServeForever) {
  ServerThreads servers(2, Address::ip("127.0.0.1", 0), tid_echo);
  servers.start();
  Socket idle = connect_to(servers.address());  // its handler waits in recv
  idle.recv_until("\n");
  std::thread stopper([&] { servers.stop(0.1); });  // a plain thread: no hub of its own yet
  servers.serve_forever();
  stopper.join();
  EXPECT_TRUE(servers.closed());
  EXPECT_EQ(idle.recv(1), "");  // its handler was killed after 0.1 s and the socket closed
}

TEST(ServerThreads, StopFromAHandlerOnlyAsks) {
  ServerThreads* self = nullptr;
  ServerThreads servers(2, Address::ip("127.0.0.1", 0), [&](Socket& conn, const Address&) {
    if (conn.recv_exact(4) == "quit") {
      self->stop();  // on a server thread: returns at once
      conn.sendall("bye!");
    }
  });
  self = &servers;
  servers.start();
  auto client = green::spawn([&] {
    Socket c = connect_to(servers.address());
    c.sendall("quit");
    return c.recv_exact(4);
  });
  servers.serve_forever();
  EXPECT_EQ(client.get(10.0), "bye!");
  EXPECT_TRUE(servers.closed());
}

TEST(ServerThreads, BindErrorsSurfaceInStart) {
  Socket taken = green::test::listener();  // no SO_REUSEPORT: nobody may join its port
  ServerThreads servers(2, taken.getsockname(), tid_echo);
  EXPECT_THROW(servers.start(), std::system_error);
}

TEST(ServerThreads, BadArguments) {
  EXPECT_THROW(ServerThreads(0, Address::ip("127.0.0.1", 0), tid_echo), std::invalid_argument);
  EXPECT_THROW(ServerThreads(2, Address::ip("127.0.0.1", 0), nullptr), std::invalid_argument);
  EXPECT_THROW(ServerThreads(2, Address::ip("127.0.0.1", 0), tid_echo, 0), std::invalid_argument);
  EXPECT_THROW(ServerThreads(2, Address::unix_path("/tmp/green-no.sock"), tid_echo), std::invalid_argument);
  ServerThreads servers(1, Address::ip("127.0.0.1", 0), tid_echo);
  servers.start();
  EXPECT_THROW(servers.start(), std::logic_error);
}

TEST(ServerThreads, StreamServerReusePortSharesAPortAcrossHubs) {
  green::StreamServer first(Address::ip("127.0.0.1", 0), tid_echo);
  first.set_reuse_port(true);
  first.start();
  green::HubThread other;
  auto second_port = other.spawn([&] {
    green::StreamServer second(first.address(), tid_echo);
    second.set_reuse_port(true);
    second.start();  // the same port: SO_REUSEPORT on both
    const int port = second.address().port();
    second.stop();
    return port;
  });
  EXPECT_EQ(second_port.get(10.0), first.address().port());
}

TEST(ServerThreads, ServeInThreadsStopsOnSigterm) {
  const int port = [] {  // a port that was free a moment ago
    Socket probe = green::test::listener();
    return probe.getsockname().port();
  }();
  const Address address = Address::ip("127.0.0.1", port);
  auto client = green::spawn([&] {
    struct Stop {  // serve_in_threads' handler stops the servers, whatever happens here
      ~Stop() { ::raise(SIGTERM); }
    } stop;
    Socket c;
    const bool up = green::test::yield_until([&] {  // until serve_in_threads listens
      Socket attempt(AF_INET, SOCK_STREAM);
      if (attempt.connect_ex(address) != 0) return false;
      c = std::move(attempt);
      return true;
    });
    EXPECT_TRUE(up);
    if (up) {
      c.settimeout(10.0);
      c.recv_until("\n");
      c.sendall("ping");
      EXPECT_EQ(c.recv_exact(4), "ping");
    }
  });
  green::serve_in_threads(2, address, tid_echo);
  client.get(10.0);
}

}  // namespace
