// green's echo on THREADS hubs (ServerThreads: one StreamServer per OS thread, the port
// shared with SO_REUSEPORT); one greenlet per connection, recv then sendall. The serving
// threads are named green-serve-0, green-serve-1, ... so scale.sh can pin each one.
//   green_threads_server PORT THREADS
#include <green/green.hpp>

#include <cstdlib>

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  green::ServerThreads servers(
      std::atoi(argv[2]), green::Address::ip("127.0.0.1", std::atoi(argv[1])),
      [](green::Socket& conn, const green::Address&) {
        char buf[4096];
        try {
          while (std::size_t n = conn.recv(buf, sizeof(buf))) conn.sendall(buf, n);
        } catch (const std::system_error&) {  // the load generator resets its connections at exit
        }
      },
      100000);
  servers.set_backlog(4096);
  servers.serve_forever();
}
