// green's StreamServer echo: one greenlet per connection, recv then sendall.
//   green_server PORT
#include <green/green.hpp>

#include <cstdlib>

int main(int argc, char** argv) {
  green::StreamServer server(
      green::Address::ip("127.0.0.1", std::atoi(argv[1])),
      [](green::Socket& conn, const green::Address&) {
        char buf[4096];
        try {
          while (std::size_t n = conn.recv(buf, sizeof(buf))) conn.sendall(buf, n);
        } catch (const std::system_error&) {  // the load generator resets its connections at exit
        }
      },
      100000);
  server.set_backlog(4096);
  server.serve_forever();
}
