#include "green/socket.hpp"

#include <gtest/gtest.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "io_test_util.hpp"

namespace {

using green::Address;
using green::Socket;
using green::test::listener;
using green::test::tcp_pair;

std::string message_of(const std::exception& e) { return e.what(); }

TEST(Socket, TcpEchoThroughAcceptAndConnect) {
  Socket l = listener();
  const Address where = l.getsockname();
  EXPECT_EQ(where.host(), "127.0.0.1");
  EXPECT_GT(where.port(), 0);
  auto server = green::spawn([&] {
    auto [conn, peer] = l.accept();
    EXPECT_EQ(peer.host(), "127.0.0.1");
    conn.sendall(conn.recv_exact(5));
  });
  Socket c(AF_INET, SOCK_STREAM);
  c.connect(where);
  c.sendall("hello");
  EXPECT_EQ(c.recv_exact(5), "hello");
  server.get(5.0);
}

TEST(Socket, MoveOnlyRaii) {
  Socket a(AF_INET, SOCK_STREAM);
  const int fd = a.fileno();
  Socket b = std::move(a);
  EXPECT_EQ(a.fileno(), -1);
  EXPECT_EQ(b.fileno(), fd);
  b.close();
  EXPECT_FALSE(b);
  b.close();  // idempotent
  EXPECT_THROW(b.recv(1), std::system_error);
}

TEST(Socket, ConnectTimeout) {
  // A listener that never accepts: once its queue is full the kernel drops further SYNs,
  // so a connect hangs until our timeout.
  Socket l = listener(1);
  std::vector<Socket> filled;
  bool timed_out = false;
  for (int i = 0; i < 64 && !timed_out; ++i) {
    Socket c(AF_INET, SOCK_STREAM);
    c.settimeout(0.1);
    try {
      c.connect(l.getsockname());
      filled.push_back(std::move(c));
    } catch (const green::SocketTimeout& e) {
      timed_out = true;
      EXPECT_NE(message_of(e).find("Socket.connect to 127.0.0.1:"), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(timed_out);
}

TEST(Socket, ConnectRefusedNamesThePeer) {
  Address where;
  {
    Socket l = listener();
    where = l.getsockname();
  }
  Socket c(AF_INET, SOCK_STREAM);
  try {
    c.connect(where);
    FAIL();
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ECONNREFUSED);
    EXPECT_NE(message_of(e).find(where.to_string()), std::string::npos) << e.what();
  }
}

TEST(Socket, RecvAcceptAndSendTimeouts) {
  auto [c, s] = tcp_pair();
  c.settimeout(0.05);
  try {
    c.recv(10);
    FAIL();
  } catch (const green::SocketTimeout& e) {
    EXPECT_EQ(e.code(), std::errc::timed_out);
    EXPECT_NE(message_of(e).find("Socket.recv from 127.0.0.1:"), std::string::npos) << e.what();
  }
  Socket l = listener();
  l.settimeout(0.05);
  EXPECT_THROW(l.accept(), green::SocketTimeout);
  // Nobody reads s: sendall fills both kernel buffers, then times out saying how far it got.
  std::string big(64 << 20, 'x');
  try {
    c.sendall(big);
    FAIL();
  } catch (const green::SocketTimeout& e) {
    EXPECT_NE(message_of(e).find("bytes were sent"), std::string::npos) << e.what();
  }
}

TEST(Socket, NonBlockingModeThrowsEagain) {
  auto [c, s] = tcp_pair();
  c.settimeout(0.0);
  try {
    c.recv(10);
    FAIL();
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EAGAIN);
  }
  c.settimeout(std::nullopt);
  EXPECT_FALSE(c.gettimeout());
  EXPECT_THROW(c.settimeout(-1.0), std::invalid_argument);
}

TEST(Socket, TimeoutScopeInterruptsRecv) {
  auto [c, s] = tcp_pair();
  green::Timeout t(0.05);
  EXPECT_THROW(c.recv(10), green::TimeoutError);
}

void reset(Socket& s) {
  struct linger lg{1, 0};
  ASSERT_EQ(::setsockopt(s.fileno(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
  s.close();  // RST, not FIN
}

TEST(Socket, PeerResetMidReadIsAClearError) {
  auto [c, s] = tcp_pair();
  auto reader = green::spawn([&c = c] {
    std::string got = c.recv_exact(10);  // blocks: only 3 bytes ever arrive
  });
  s.sendall("abc");
  green::sleep(0.01);
  reset(s);
  try {
    reader.get(5.0);
    FAIL();
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ECONNRESET);
    EXPECT_NE(message_of(e).find("Socket.recv_exact"), std::string::npos) << e.what();
  }
}

TEST(Socket, PeerResetMidWriteIsAClearError) {
  auto [c, s] = tcp_pair();
  auto writer = green::spawn([&c = c] {
    std::string big(16 << 20, 'x');
    c.sendall(big);  // blocks: nobody reads
  });
  green::sleep(0.02);
  reset(s);
  try {
    writer.get(5.0);
    FAIL();
  } catch (const std::system_error& e) {
    EXPECT_TRUE(e.code().value() == ECONNRESET || e.code().value() == EPIPE) << e.what();
    EXPECT_NE(message_of(e).find("Socket.sendall"), std::string::npos) << e.what();
  }
}

char pattern(std::size_t i) { return static_cast<char>((i * 131) ^ (i >> 11)); }

TEST(Socket, Sendall64MiBToASlowReaderArrivesByteForByte) {
  auto [c, s] = tcp_pair();
  constexpr std::size_t kSize = 64 << 20;
  auto reader = green::spawn([&s = s] {
    std::vector<char> buf(256 << 10);
    std::size_t total = 0;
    int reads = 0;
    for (;;) {
      const std::size_t n = s.recv(buf.data(), buf.size());
      if (n == 0) break;
      for (std::size_t i = 0; i < n; ++i)
        if (buf[i] != pattern(total + i)) {
          ADD_FAILURE() << "byte " << total + i << " differs";
          return total;
        }
      total += n;
      if (++reads % 64 == 0) green::sleep(0.001);  // slow
    }
    return total;
  });
  std::string data(kSize, '\0');
  for (std::size_t i = 0; i < kSize; ++i) data[i] = pattern(i);
  c.sendall(data);
  c.shutdown(SHUT_WR);
  EXPECT_EQ(reader.get(60.0), kSize);
}

TEST(Socket, HalfClose) {
  auto [c, s] = tcp_pair();
  auto server = green::spawn([&s = s] {
    std::string all;
    char buf[100];
    while (std::size_t n = s.recv(buf, sizeof(buf))) all.append(buf, n);  // until EOF
    s.sendall("got " + all);
    s.close();
  });
  c.sendall("request");
  c.shutdown(SHUT_WR);
  std::string reply;
  char buf[100];
  while (std::size_t n = c.recv(buf, sizeof(buf))) reply.append(buf, n);
  EXPECT_EQ(reply, "got request");
  server.get(5.0);
}

TEST(Socket, RecvUntil) {
  auto [c, s] = tcp_pair();
  s.sendall("one\r\ntwo\r\nthree");
  EXPECT_EQ(c.recv_until("\r\n"), "one\r\n");
  EXPECT_EQ(c.recv_until("\r\n"), "two\r\n");
  EXPECT_THROW(c.recv_until("\r\n", 4), std::length_error);
  EXPECT_EQ(c.recv(3), "thr");  // the buffered bytes come first
  s.shutdown(SHUT_WR);
  try {
    c.recv_until("\n");
    FAIL();
  } catch (const green::EOFError& e) {
    EXPECT_EQ(e.partial(), "ee");
  }
}

TEST(Socket, RecvUntilSplitDelimiter) {
  auto [c, s] = tcp_pair();
  auto writer = green::spawn([&s = s] {
    s.sendall("abc\r");
    green::sleep(0.01);
    s.sendall("\ndef");
  });
  EXPECT_EQ(c.recv_until("\r\n"), "abc\r\n");
  EXPECT_EQ(c.recv_exact(3), "def");
  writer.get(5.0);
}

TEST(Socket, CloseWakesAGreenletWaitingOnIt) {
  auto [c, s] = tcp_pair();
  auto reader = green::spawn([&c = c] { c.recv(10); });
  green::sleep(0);
  c.close();
  try {
    reader.get(5.0);
    FAIL();
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EBADF);
    EXPECT_NE(message_of(e).find("closed in another greenlet"), std::string::npos) << e.what();
  }
}

TEST(Socket, TwoGreenletsReceivingAtOnceIsAnError) {
  auto [c, s] = tcp_pair();
  auto first = green::spawn(green::SpawnOptions{"reader-one"}, [&c = c] { return c.recv(10); });
  green::sleep(0);
  try {
    c.recv(10);
    FAIL();
  } catch (const std::logic_error& e) {
    EXPECT_NE(message_of(e).find("reader-one"), std::string::npos) << e.what();
  }
  s.sendall("x");
  EXPECT_EQ(first.get(5.0), "x");
}

TEST(Socket, Udp) {
  Socket a(AF_INET, SOCK_DGRAM), b(AF_INET, SOCK_DGRAM);
  a.bind(Address::ip("127.0.0.1", 0));
  b.bind(Address::ip("127.0.0.1", 0));
  auto receiver = green::spawn([&] {
    char buf[64];
    auto [n, from] = a.recvfrom(buf, sizeof(buf));
    EXPECT_EQ(from.port(), b.getsockname().port());
    a.sendto(buf, n, from);
  });
  green::sleep(0);
  b.sendto("ping", a.getsockname());
  char buf[64];
  b.settimeout(5.0);
  auto [n, from] = b.recvfrom(buf, sizeof(buf));
  EXPECT_EQ(std::string(buf, n), "ping");
  receiver.get(5.0);
}

TEST(Socket, UnixStream) {
  const Address path = Address::unix_path(std::string("\0green-test-", 12) + std::to_string(::getpid()));
  Socket l(AF_UNIX, SOCK_STREAM);
  l.bind(path);
  l.listen();
  auto server = green::spawn([&] {
    auto [conn, peer] = l.accept();
    conn.sendall(conn.recv_until("\n"));
  });
  Socket c(AF_UNIX, SOCK_STREAM);
  c.connect(path);
  c.sendall("over unix\n");
  EXPECT_EQ(c.recv_until("\n"), "over unix\n");
  server.get(5.0);
  EXPECT_EQ(path.to_string().rfind("unix:@green-test-", 0), 0u) << path.to_string();
}

TEST(Socket, Ipv6Loopback) {
  Socket l(AF_INET6, SOCK_STREAM);
  try {
    l.bind(Address::ip("::1", 0));
  } catch (const std::system_error& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  l.listen();
  auto server = green::spawn([&] { l.accept().first.sendall("v6"); });
  Socket c(AF_INET6, SOCK_STREAM);
  c.connect(l.getsockname());
  EXPECT_EQ(c.recv_exact(2), "v6");
  EXPECT_EQ(l.getsockname().to_string().rfind("[::1]:", 0), 0u);
  server.get(5.0);
}

TEST(Socket, CreateConnectionTriesEveryAddress) {
  // "localhost" usually resolves to ::1 and 127.0.0.1; the listener has only the latter.
  Socket l = listener();
  auto server = green::spawn([&] { l.accept().first.sendall("ok"); });
  Socket c = green::create_connection("localhost", l.getsockname().port(), 5.0);
  EXPECT_EQ(c.recv_exact(2), "ok");
  EXPECT_EQ(c.gettimeout(), 5.0);
  server.get(5.0);
}

TEST(Socket, AddressParsing) {
  EXPECT_EQ(Address::ip("127.0.0.1", 80).to_string(), "127.0.0.1:80");
  EXPECT_EQ(Address::ip("[::1]", 80).to_string(), "[::1]:80");
  EXPECT_EQ(Address::ip("", 0).host(), "0.0.0.0");
  EXPECT_THROW(Address::ip("example.com", 80), std::invalid_argument);
  EXPECT_THROW(Address::ip("127.0.0.1", 70000), std::invalid_argument);
  EXPECT_THROW(Address::unix_path(""), std::invalid_argument);
}

TEST(Resolver, NumericAndNames) {
  auto infos = green::getaddrinfo("127.0.0.1", "80", AF_INET, SOCK_STREAM);
  ASSERT_EQ(infos.size(), 1u);
  EXPECT_EQ(infos[0].address.to_string(), "127.0.0.1:80");
  auto local = green::getaddrinfo("localhost", "80", AF_INET, SOCK_STREAM, 0, 0, 10.0);
  ASSERT_FALSE(local.empty());
  EXPECT_EQ(local[0].address.host(), "127.0.0.1");
  auto [host, service] = green::getnameinfo(Address::ip("127.0.0.1", 22), NI_NUMERICHOST | NI_NUMERICSERV);
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(service, "22");
  auto named = green::getnameinfo(Address::ip("127.0.0.1", 80), 0, 10.0);
  EXPECT_FALSE(named.first.empty());
}

TEST(Resolver, FailureAndTimeout) {
  try {
    green::getaddrinfo("no-such-host.invalid", "80", AF_UNSPEC, SOCK_STREAM, 0, 0, 10.0);
    FAIL();
  } catch (const green::ResolverError& e) {
    EXPECT_NE(message_of(e).find("no-such-host.invalid"), std::string::npos) << e.what();
  } catch (const green::SocketTimeout&) {
  }
  // A zero timeout abandons any lookup that needs a thread.
  EXPECT_THROW(green::getaddrinfo("localhost", "http", AF_INET, SOCK_STREAM, 0, 0, 0.0), green::SocketTimeout);
}

TEST(Resolver, LookupsDoNotBlockOtherGreenlets) {
  int ticks = 0;
  auto ticker = green::spawn([&] {
    for (int i = 0; i < 5; ++i, ++ticks) green::sleep(0.001);
  });
  std::vector<green::Greenlet<std::size_t>> lookups;
  for (int i = 0; i < 20; ++i)
    lookups.push_back(green::spawn([] { return green::getaddrinfo("localhost", "80", AF_INET, SOCK_STREAM).size(); }));
  for (auto& g : lookups) EXPECT_GE(g.get(10.0), 1u);
  ticker.get(5.0);
  EXPECT_EQ(ticks, 5);
}

}  // namespace
