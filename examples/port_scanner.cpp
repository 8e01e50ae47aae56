// A port scanner: tries to connect to 1,000 ports at once, 200 at a time.
//   ./port_scanner [host] [first port]      (default: 127.0.0.1, ports 1-1000)
#include <green/green.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const std::string host = argc > 1 ? argv[1] : "127.0.0.1";
  const int first = argc > 2 ? std::atoi(argv[2]) : 1;
  std::vector<int> ports;
  for (int p = first; p < first + 1000 && p <= 65535; ++p) ports.push_back(p);

  green::Pool pool(200);
  std::vector<int> open;
  auto results = pool.imap(
      [&](int port) {
        try {
          green::create_connection(host, port, 1.0);
          return port;
        } catch (const std::system_error&) {  // refused, unreachable or timed out
          return 0;
        }
      },
      ports);
  for (int port : results)
    if (port != 0) open.push_back(port);

  for (int port : open) std::printf("open: %d\n", port);
  std::printf("scanned %zu ports on %s, %zu open\n", ports.size(), host.c_str(), open.size());
}
