// Peers that misbehave: reset the connection (SO_LINGER 0 close), half-close, stall (never
// read, so sends block) or trickle one byte at a time, against StreamServer and plain
// Socket clients. Nothing is lost: every byte a server accepted is echoed, or the side
// that loses its peer gets a clear error; nothing hangs and the server keeps serving.
#include <netinet/tcp.h>

#include <string>
#include <system_error>
#include <vector>

#include "faults_util.hpp"

namespace green::faults {
namespace {

// Closes with an RST instead of a FIN.
void reset(Socket& sock) {
  const linger hard{1, 0};
  ASSERT_EQ(::setsockopt(sock.fileno(), SOL_SOCKET, SO_LINGER, &hard, sizeof(hard)), 0);
  sock.close();
}

struct Errors {
  std::vector<std::string> what;
  std::vector<int> code;  // errno for system_error, -1 for anything else
  void add(std::exception_ptr error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::system_error& e) {
      what.push_back(e.what());
      code.push_back(e.code().value());
    } catch (const std::exception& e) {
      what.push_back(e.what());
      code.push_back(-1);
    }
  }
};

TEST(Peers, ClientsThatResetDoNotDisturbTheOthers) {
  Errors errors;
  StreamServer server(Address::ip("127.0.0.1", 0), echo);
  server.set_error_handler([&](const Address&, std::exception_ptr e) { errors.add(e); });
  server.start();
  const Address address = server.address();
  std::vector<GreenletRef> clients;
  for (int i = 0; i < 5; ++i)
    clients.push_back(spawn([&, i] {
      Socket sock(AF_INET, SOCK_STREAM);
      sock.connect(address);
      for (int round = 0; round < 10; ++round) {
        const std::string data = pattern(64 * 1024 + round, i * 100 + round);
        EXPECT_EQ(echo_round(sock, data), data);
      }
    }));
  for (int i = 0; i < 30; ++i)
    clients.push_back(spawn([&, i] {
      Socket sock(AF_INET, SOCK_STREAM);
      sock.connect(address);
      const std::string data = pattern(200000, 1000 + i);
      if (i % 3 == 0) {
        sock.sendall(data);  // the server is mid-echo when the RST arrives
        sock.recv_exact(1000);
      } else if (i % 3 == 1) {
        sock.sendall(data.substr(0, 10));
        EXPECT_EQ(sock.recv_exact(10), data.substr(0, 10));
      }
      reset(sock);
    }));
  joinall(clients, 30.0, true);
  for (auto& c : clients) EXPECT_TRUE(c.successful());
  ASSERT_TRUE(test::yield_until([&] { return server.connection_count() == 0; }));
  for (std::size_t i = 0; i < errors.code.size(); ++i) {
    EXPECT_TRUE(errors.code[i] == ECONNRESET || errors.code[i] == EPIPE) << errors.what[i];
    EXPECT_NE(errors.what[i].find("green::Socket."), std::string::npos) << errors.what[i];
  }
  // Still serving.
  Socket late = create_connection("127.0.0.1", address.port(), 5.0);
  EXPECT_EQ(echo_round(late, "still here"), "still here");
}

TEST(Peers, ServerResetGivesTheClientAnError) {
  for (int where = 0; where < 3; ++where) {
    auto [client, server] = tcp_pair();
    client.settimeout(10.0);
    auto resetter = spawn([&, s = &server] {
      s->recv_exact(100);
      reset(*s);
    });
    try {
      if (where == 0) {
        client.sendall(pattern(100, 1));
        client.recv(16);  // blocked in recv when the RST arrives
        ADD_FAILURE() << "recv returned after a reset";
      } else if (where == 1) {
        client.sendall(pattern(100, 1));
        client.recv_exact(16);
        ADD_FAILURE() << "recv_exact returned after a reset";
      } else {
        // A sender whose peer resets while the send buffer is full.
        for (int i = 0; i < 1000; ++i) client.sendall(pattern(1 << 20, i));
        ADD_FAILURE() << "sendall kept succeeding after a reset";
      }
    } catch (const std::system_error& e) {
      EXPECT_TRUE(e.code().value() == ECONNRESET || e.code().value() == EPIPE) << e.what();
      EXPECT_NE(std::string(e.what()).find("green::Socket."), std::string::npos) << e.what();
    }
    resetter.get();
  }
}

TEST(Peers, HalfClosedClientGetsEverythingBack) {
  StreamServer server(Address::ip("127.0.0.1", 0), echo);
  server.start();
  std::vector<GreenletRef> clients;
  for (int i = 0; i < 10; ++i)
    clients.push_back(spawn([&, i] {
      Socket sock = create_connection("127.0.0.1", server.address().port(), 10.0);
      const std::string data = pattern(300000 + i, i);
      std::string back;
      auto reader = spawn([&] {
        char buf[8192];
        while (std::size_t n = sock.recv(buf, sizeof(buf))) back.append(buf, n);
      });
      sock.sendall(data);
      sock.shutdown(SHUT_WR);  // the server sees EOF after the last byte
      reader.get();            // and closes once it has echoed everything
      EXPECT_TRUE(back == data) << back.size() << " of " << data.size() << " bytes";
    }));
  joinall(clients, 30.0, true);
  for (auto& c : clients) EXPECT_TRUE(c.successful());
}

TEST(Peers, HalfClosedServerStillReads) {
  auto [client, server] = tcp_pair();
  server.sendall("partial line");
  server.shutdown(SHUT_WR);
  try {
    client.recv_until("\n");
    ADD_FAILURE() << "recv_until returned without a delimiter";
  } catch (const EOFError& e) {
    EXPECT_EQ(e.partial(), "partial line");
    EXPECT_NE(std::string(e.what()).find("closed after 12 bytes"), std::string::npos) << e.what();
  }
  // The other direction is still open.
  client.sendall(pattern(500000, 9));
  EXPECT_TRUE(server.recv_exact(500000) == pattern(500000, 9));
}

// A client that never reads: the handler's sendall blocks until its socket timeout ends
// it with SocketTimeout saying how much was sent; the server keeps serving.
TEST(Peers, StallingReaderIsTimedOut) {
  Errors errors;
  StreamServer server(Address::ip("127.0.0.1", 0), [](Socket& conn, const Address&) {
    conn.settimeout(0.3);
    conn.recv_exact(5);
    const std::string big = pattern(64 << 20, 5);
    conn.sendall(big);
  });
  server.set_error_handler([&](const Address&, std::exception_ptr e) { errors.add(e); });
  server.start();
  Socket staller = create_connection("127.0.0.1", server.address().port(), 10.0);
  staller.sendall("hello");
  ASSERT_TRUE(test::yield_until([&] { return !errors.what.empty(); }));
  EXPECT_EQ(errors.code[0], ETIMEDOUT);
  EXPECT_NE(errors.what[0].find("bytes were sent"), std::string::npos) << errors.what[0];
  EXPECT_EQ(server.connection_count(), 0u);
  // What did arrive is a prefix of what was sent.
  std::string got;
  char buf[65536];
  staller.settimeout(5.0);
  while (std::size_t n = staller.recv(buf, sizeof(buf))) got.append(buf, n);
  EXPECT_GT(got.size(), 0u);
  EXPECT_TRUE(got == pattern(64 << 20, 5).substr(0, got.size()));
}

// A server that never reads: the client's sendall times out (socket timeout, then an
// enclosing green::Timeout), saying how much was sent.
TEST(Peers, StallingServerTimesTheSenderOut) {
  auto [client, server] = tcp_pair();
  const std::string big = pattern(64 << 20, 6);
  client.settimeout(0.3);
  try {
    client.sendall(big);
    ADD_FAILURE() << "sendall of 64 MiB to a peer that never reads returned";
  } catch (const SocketTimeout& e) {
    EXPECT_NE(std::string(e.what()).find("bytes were sent"), std::string::npos) << e.what();
  }
  client.settimeout(std::nullopt);
  EXPECT_THROW(
      {
        Timeout t(0.2);
        client.sendall(big);
      },
      TimeoutError);
}

// One byte at a time, with pauses, both ways: recv_until and recv_exact still assemble
// exactly the bytes that were sent.
TEST(Peers, TrickleOneByteAtATime) {
  auto trickle = [](Socket& sock, const std::string& data) {
    sock.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
    for (char c : data) {
      sock.sendall(&c, std::size_t{1});
      green::sleep(0.0002);
    }
  };
  StreamServer server(Address::ip("127.0.0.1", 0), [&](Socket& conn, const Address&) {
    for (;;) {
      std::string header;
      try {
        header = conn.recv_until("\n", 32);
      } catch (const EOFError& e) {
        EXPECT_EQ(e.partial(), "");
        return;
      }
      const std::size_t n = std::stoul(header);
      const std::string body = conn.recv_exact(n);
      trickle(conn, header + body);
    }
  });
  server.start();
  std::vector<GreenletRef> clients;
  for (int i = 0; i < 5; ++i)
    clients.push_back(spawn([&, i] {
      Socket sock = create_connection("127.0.0.1", server.address().port(), 10.0);
      for (int round = 0; round < 3; ++round) {
        std::string body = pattern(40 + round, i * 10 + round);
        for (char& c : body) c = static_cast<char>('a' + static_cast<unsigned char>(c) % 26);
        const std::string header = std::to_string(body.size()) + "\n";
        auto sender = spawn([&] { trickle(sock, header + body); });
        EXPECT_EQ(sock.recv_until("\n", 32), header);
        EXPECT_EQ(sock.recv_exact(body.size()), body);
        sender.get();
      }
    }));
  joinall(clients, 30.0, true);
  for (auto& c : clients) EXPECT_TRUE(c.successful());
}

}  // namespace
}  // namespace green::faults
