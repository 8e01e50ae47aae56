// green's echo on N hubs: N threads (ServerThreads: one StreamServer per OS thread, the
// port shared with SO_REUSEPORT; the serving threads are named green-serve-0, ... so
// scale.sh can pin each one), or N processes (PreforkServer; `processes`: a SO_REUSEPORT
// socket per worker, `processes-shared`: the parent's one listening socket shared by all).
// One greenlet per connection, recv then sendall.
//   green_threads_server PORT N [threads|processes|processes-shared]
#include <green/green.hpp>

#include <csignal>
#include <cstdlib>
#include <string>

namespace {
void echo(green::Socket& conn, const green::Address&) {
  char buf[4096];
  try {
    while (std::size_t n = conn.recv(buf, sizeof(buf))) conn.sendall(buf, n);
  } catch (const std::system_error&) {  // the load generator resets its connections at exit
  }
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  const auto address = green::Address::ip("127.0.0.1", std::atoi(argv[1]));
  const int n = std::atoi(argv[2]);
  const std::string mode = argc > 3 ? argv[3] : "threads";
  if (mode == "processes" || mode == "processes-shared") {
    green::PreforkServer server(n, address, echo, 100000);
    server.set_backlog(4096);
    server.set_reuse_port(mode == "processes");
    auto on_term = green::signal_handler(SIGTERM, [&] { server.stop(); });  // reap the workers
    server.serve_forever();
    return 0;
  }
  green::ServerThreads servers(n, address, echo, 100000);
  servers.set_backlog(4096);
  servers.serve_forever();
}
