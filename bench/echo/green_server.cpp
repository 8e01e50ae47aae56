// green's StreamServer echo, as a green user writes it: a greenlet per connection with
// plain blocking recv/sendall.   echo_server PORT
#include <green/green.hpp>

#include <cstdlib>

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 0;
  green::StreamServer server(
      green::Address::ip("127.0.0.1", port),
      [](green::Socket& connection, const green::Address&) {
        char buffer[65536];
        while (std::size_t n = connection.recv(buffer, sizeof buffer)) connection.sendall(buffer, n);
      },
      100000);
  server.set_backlog(4096);
  server.serve_forever();
}
