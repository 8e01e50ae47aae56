// An echo server: whatever a client sends comes back. Ctrl-C (or SIGTERM) stops it.
//   ./echo_server [port]        (port 0: any free port; the server prints which)
#include <green/green.hpp>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 7000;
  green::StreamServer server(green::Address::ip("127.0.0.1", port), [](green::Socket& conn, const green::Address&) {
    char buf[4096];
    while (std::size_t n = conn.recv(buf, sizeof(buf))) conn.sendall(buf, n);
  });
  auto stop = [&] { server.stop(); };
  auto on_int = green::signal_handler(SIGINT, stop);
  auto on_term = green::signal_handler(SIGTERM, stop);
  server.start();
  std::printf("echo server on %s\n", server.address().to_string().c_str());
  std::fflush(stdout);
  server.serve_forever();
  std::printf("stopped\n");
}
