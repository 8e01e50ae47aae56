// Descriptors closed under their waiters: Socket::close while another greenlet waits in
// recv, accept, send or connect wakes that greenlet with a clear EBADF error instead of
// leaving it asleep, and the descriptor number, reused at once, carries no stale waiter.
#include <string>
#include <system_error>

#include "faults_util.hpp"

namespace green::faults {
namespace {

// Runs `op` in a greenlet, closes `sock` once it is blocked, and checks the error it gets.
template <class Op>
void close_while_blocked(Socket& sock, const char* operation, Op op) {
  std::string error;
  int code = 0;
  auto blocked = spawn([&] {
    try {
      op();
      error = "returned normally";
    } catch (const std::system_error& e) {
      error = e.what();
      code = e.code().value();
    }
  });
  // Its first slice takes it into the wait (each of these blocks at once).
  green::sleep(0.01);
  ASSERT_FALSE(blocked.ready()) << operation << ": " << error;
  sock.close();
  ASSERT_TRUE(blocked.join(5.0)) << operation << " did not wake when its socket was closed";
  EXPECT_EQ(code, EBADF) << operation << ": " << error;
  EXPECT_NE(error.find("was closed in another greenlet"), std::string::npos) << error;
  EXPECT_NE(error.find(operation), std::string::npos) << error;
  // The number is free again and the next socket that gets it works normally.
  auto [a, b] = tcp_pair();
  a.sendall("after");
  EXPECT_EQ(b.recv_exact(5), "after");
}

TEST(ClosedUnderWaiter, Recv) {
  auto [client, server] = tcp_pair();
  close_while_blocked(server, "Socket.recv", [&, s = &server] { s->recv(100); });
}

TEST(ClosedUnderWaiter, RecvExactHalfWay) {
  auto [client, server] = tcp_pair();
  client.sendall("12345");
  close_while_blocked(server, "Socket.recv_exact", [&, s = &server] { s->recv_exact(10); });
}

TEST(ClosedUnderWaiter, Accept) {
  Socket l = listener();
  close_while_blocked(l, "Socket.accept", [&] { l.accept(); });
}

TEST(ClosedUnderWaiter, Sendall) {
  auto [client, server] = tcp_pair();
  const std::string big = pattern(64 << 20, 1);  // the peer never reads: sendall blocks
  close_while_blocked(client, "Socket.sendall", [&, c = &client] { c->sendall(big); });
}

// A connect that cannot complete (the listener's accept queue is full, so the kernel drops
// the SYN): a socket timeout ends it with SocketTimeout, a close with EBADF.
TEST(ClosedUnderWaiter, StalledConnect) {
  Socket l = listener(0);
  std::vector<Socket> filled;
  Socket stalled;
  for (int i = 0; i < 16 && !stalled; ++i) {
    Socket s(AF_INET, SOCK_STREAM);
    s.settimeout(0.3);
    try {
      s.connect(l.getsockname());
      filled.push_back(std::move(s));
    } catch (const SocketTimeout& e) {
      EXPECT_NE(std::string(e.what()).find("timed out after"), std::string::npos) << e.what();
      stalled = Socket(AF_INET, SOCK_STREAM);
    }
  }
  ASSERT_TRUE(stalled) << "the accept queue never filled";
  close_while_blocked(stalled, "Socket.connect", [&] { stalled.connect(l.getsockname()); });
}

}  // namespace
}  // namespace green::faults
