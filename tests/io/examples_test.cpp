// Runs the programs in examples/ the way a user would, and checks what they do.
#include <gtest/gtest.h>

#include <csignal>
#include <string>

#include "io_test_util.hpp"

namespace {

using green::Popen;
using green::PopenOptions;
using green::Socket;
using green::Stdio;

#ifdef GREEN_EXAMPLES_DIR
std::string example(const char* name) { return std::string(GREEN_EXAMPLES_DIR) + "/" + name; }
#else
std::string example(const char*) { return {}; }
#endif

// Reads one line from a child's stdout pipe (cooperatively).
std::string read_line(int fd) {
  std::string line;
  char c;
  while (line.empty() || line.back() != '\n') {
    const ssize_t n = ::read(fd, &c, 1);
    if (n == 1) {
      line += c;
    } else if (n == 0) {
      break;
    } else if (errno == EAGAIN) {
      if (!green::wait_read(fd, 10.0)) throw std::runtime_error("no output from the example");
    } else {
      throw std::system_error(errno, std::generic_category(), "read");
    }
  }
  return line;
}

// Starts a server example on port 0 and returns the address it printed.
green::Address start_server(Popen& p) {
  const std::string banner = read_line(p.stdout_fd());
  const std::size_t colon = banner.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("unexpected banner: " + banner);
  return green::Address::ip("127.0.0.1", std::stoi(banner.substr(colon + 1)));
}

class Examples : public testing::Test {
 protected:
  void SetUp() override {
    if (example("echo_server").empty()) GTEST_SKIP() << "examples are not built";
  }
};

TEST_F(Examples, EchoServer) {
  Popen p({example("echo_server"), "0"}, PopenOptions{.std_out = Stdio::pipe});
  const green::Address where = start_server(p);
  for (int i = 0; i < 3; ++i) {
    Socket c(AF_INET, SOCK_STREAM);
    c.settimeout(10.0);
    c.connect(where);
    c.sendall("echo " + std::to_string(i) + "\n");
    EXPECT_EQ(c.recv_until("\n"), "echo " + std::to_string(i) + "\n");
  }
  p.send_signal(SIGTERM);  // the server's signal handler stops it
  EXPECT_EQ(p.wait(10.0), 0);
  EXPECT_EQ(read_line(p.stdout_fd()), "stopped\n");
}

TEST_F(Examples, ChatServerBroadcasts) {
  Popen p({example("chat_server"), "0"}, PopenOptions{.std_out = Stdio::pipe});
  const green::Address where = start_server(p);
  Socket alice(AF_INET, SOCK_STREAM), bob(AF_INET, SOCK_STREAM);
  alice.settimeout(10.0);
  bob.settimeout(10.0);
  alice.connect(where);
  bob.connect(where);
  const std::string bob_name = bob.getsockname().to_string();
  EXPECT_EQ(alice.recv_until("\n"), "* " + bob_name + " joined\n");
  bob.sendall("hello\n");
  EXPECT_EQ(alice.recv_until("\n"), bob_name + ": hello\n");
  alice.sendall("hi bob\n");
  EXPECT_EQ(bob.recv_until("\n"), alice.getsockname().to_string() + ": hi bob\n");
  bob.close();
  EXPECT_EQ(alice.recv_until("\n"), "* " + bob_name + " left\n");
  p.terminate();
  EXPECT_EQ(p.wait(10.0), 0);
}

TEST_F(Examples, PortScannerFindsListeners) {
  // Two listeners; the scanner's 1,000-port window starts at the lower one.
  Socket a = green::test::listener(), b;
  const int first = a.getsockname().port();
  for (int port = first + 1; port < first + 1000 && port <= 65535 && !b; ++port) {
    try {
      Socket s(AF_INET, SOCK_STREAM);
      s.bind(green::Address::ip("127.0.0.1", port));
      s.listen();
      b = std::move(s);
    } catch (const std::system_error&) {
    }
  }
  ASSERT_TRUE(b);
  const std::string out = green::check_output({example("port_scanner"), "127.0.0.1", std::to_string(first)}, 60.0);
  EXPECT_NE(out.find("open: " + std::to_string(first) + "\n"), std::string::npos) << out;
  EXPECT_NE(out.find("open: " + std::to_string(b.getsockname().port()) + "\n"), std::string::npos) << out;
  EXPECT_NE(out.find("scanned 1000 ports"), std::string::npos) << out;
}

}  // namespace
