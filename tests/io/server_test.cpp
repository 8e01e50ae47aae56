#include "green/server.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <string>
#include <vector>

#include "io_test_util.hpp"

namespace {

using green::Address;
using green::Socket;
using green::StreamServer;

void echo(Socket& conn, const Address&) {
  char buf[4096];
  while (std::size_t n = conn.recv(buf, sizeof(buf))) conn.sendall(buf, n);
}

Socket connect_to(const StreamServer& server) {
  Socket c(AF_INET, SOCK_STREAM);
  c.settimeout(10.0);
  c.connect(server.address());
  return c;
}

TEST(StreamServer, PortZeroEchoesAndTellsItsPort) {
  StreamServer server(Address::ip("127.0.0.1", 0), echo);
  server.start();
  EXPECT_GT(server.address().port(), 0);
  EXPECT_EQ(server.address().host(), "127.0.0.1");
  for (int i = 0; i < 3; ++i) {
    Socket c = connect_to(server);
    c.sendall("ping " + std::to_string(i));
    EXPECT_EQ(c.recv_exact(6), "ping " + std::to_string(i));
  }
  server.stop();
  EXPECT_TRUE(server.closed());
}

TEST(StreamServer, HandlerErrorsAreReportedWithThePeerAndServingGoesOn) {
  StreamServer server(Address::ip("127.0.0.1", 0), [](Socket& conn, const Address&) {
    if (conn.recv_exact(4) == "fail") throw std::runtime_error("bad request");
    conn.sendall("fine");
  });
  server.start();
  testing::internal::CaptureStderr();
  Socket bad = connect_to(server);
  const std::string bad_peer = bad.getsockname().to_string();
  bad.sendall("fail");
  EXPECT_EQ(bad.recv(10), "");  // the handler ended: the connection closes
  Socket good = connect_to(server);
  good.sendall("good");
  EXPECT_EQ(good.recv_exact(4), "fine");
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("bad request"), std::string::npos) << err;
  EXPECT_NE(err.find(bad_peer), std::string::npos) << err;

  std::vector<std::string> seen;
  server.set_error_handler([&](const Address& peer, std::exception_ptr) { seen.push_back(peer.to_string()); });
  Socket again = connect_to(server);
  again.sendall("fail");
  EXPECT_EQ(again.recv(10), "");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], again.getsockname().to_string());
}

TEST(StreamServer, MaxConnectionsLimitsRunningHandlers) {
  std::size_t most = 0;
  StreamServer* self = nullptr;
  StreamServer server(
      Address::ip("127.0.0.1", 0),
      [&](Socket& conn, const Address& peer) {
        most = std::max(most, self->connection_count());
        echo(conn, peer);
      },
      2);
  self = &server;
  server.start();
  Socket a = connect_to(server), b = connect_to(server), c = connect_to(server);
  a.sendall("a");
  b.sendall("b");
  EXPECT_EQ(a.recv_exact(1), "a");
  EXPECT_EQ(b.recv_exact(1), "b");
  c.sendall("c");
  c.settimeout(0.1);
  EXPECT_THROW(c.recv_exact(1), green::SocketTimeout);  // queued: two handlers run
  a.close();
  c.settimeout(10.0);
  EXPECT_EQ(c.recv_exact(1), "c");  // a's slot went to c
  EXPECT_EQ(most, 2u);
}

TEST(StreamServer, StopWithLiveClientsKillsHandlersAfterTheTimeout) {
  StreamServer server(Address::ip("127.0.0.1", 0), echo);
  server.start();
  std::vector<Socket> clients;
  for (int i = 0; i < 10; ++i) {
    clients.push_back(connect_to(server));
    clients.back().sendall("x");
    EXPECT_EQ(clients.back().recv_exact(1), "x");
  }
  EXPECT_EQ(server.connection_count(), 10u);
  server.stop(0.05);
  EXPECT_EQ(server.connection_count(), 0u);
  for (Socket& c : clients) EXPECT_EQ(c.recv(1), "");  // closed by the server
  Socket late(AF_INET, SOCK_STREAM);
  EXPECT_THROW(late.connect(server.address()), std::system_error);
}

TEST(StreamServer, StopGivesHandlersTimeToFinish) {
  StreamServer server(Address::ip("127.0.0.1", 0), [](Socket& conn, const Address&) {
    conn.recv_exact(1);
    green::sleep(0.05);
    conn.sendall("done");
  });
  server.start();
  Socket c = connect_to(server);
  c.sendall("x");
  green::sleep(0.01);
  server.stop(10.0);
  EXPECT_EQ(c.recv_exact(4), "done");
}

TEST(StreamServer, ServeForeverUntilAHandlerStopsIt) {
  StreamServer* self = nullptr;
  StreamServer server(Address::ip("127.0.0.1", 0), [&](Socket& conn, const Address&) {
    if (conn.recv_until("\n") == "quit\n") {
      conn.sendall("bye\n");
      self->stop();
    }
  });
  self = &server;
  server.start();
  auto client = green::spawn([&] {
    Socket c = connect_to(server);
    c.sendall("quit\n");
    return c.recv_until("\n");
  });
  server.serve_forever();
  EXPECT_EQ(client.get(5.0), "bye\n");
}

TEST(StreamServer, UnixSocket) {
  const Address path = Address::unix_path(std::string("\0green-server-", 14) + std::to_string(::getpid()));
  StreamServer server(path, echo);
  server.start();
  Socket c(AF_UNIX, SOCK_STREAM);
  c.connect(server.address());
  c.sendall("unix");
  EXPECT_EQ(c.recv_exact(4), "unix");
}

TEST(StreamServer, BadArguments) {
  EXPECT_THROW(StreamServer(Address::ip("127.0.0.1", 0), nullptr), std::invalid_argument);
  EXPECT_THROW(StreamServer(Address::ip("127.0.0.1", 0), echo, 0), std::invalid_argument);
  StreamServer server(Address::ip("127.0.0.1", 0), echo);
  server.start();
  EXPECT_THROW(server.start(), std::logic_error);
}

// 5,000 clients at once, each echoing 100 messages; every byte is checked.
TEST(StreamServer, FiveThousandConcurrentConnections) {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &lim);
  const std::size_t clients = std::min<std::size_t>(5000, (lim.rlim_cur - 200) / 2);
  if (clients < 5000) std::fprintf(stderr, "RLIMIT_NOFILE %lu: testing %zu clients\n", (unsigned long)lim.rlim_cur, clients);
  StreamServer server(Address::ip("127.0.0.1", 0), echo, 10000);
  server.set_backlog(8192);
  server.start();
  const Address where = server.address();
  std::vector<green::Greenlet<int>> greenlets;
  for (std::size_t i = 0; i < clients; ++i)
    greenlets.push_back(green::spawn([&where, i] {
      Socket c(AF_INET, SOCK_STREAM);
      c.settimeout(60.0);
      c.connect(where);
      int ok = 0;
      for (int m = 0; m < 100; ++m) {
        char msg[64];
        for (std::size_t k = 0; k < sizeof(msg); ++k) msg[k] = static_cast<char>(i * 31 + m * 7 + k);
        c.sendall(msg, sizeof(msg));
        char back[64];
        c.recv_exact(back, sizeof(back));
        ok += std::equal(msg, msg + sizeof(msg), back);
      }
      return ok;
    }));
  long total = 0;
  for (auto& g : greenlets) total += g.get(100.0);
  EXPECT_EQ(total, static_cast<long>(clients) * 100);
  server.stop();
}

}  // namespace
