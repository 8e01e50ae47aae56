// Seeing inside a running program: run info, the blocking monitor and per-hub stats.
//
//   GREEN_MAX_BLOCKING_MS=100 ./debugging     the monitor reports the 'resize' greenlet
//   GREEN_DUMP_SIGNAL=USR1 ./debugging &      then kill -USR1 <pid> prints the run info
#include <green/green.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

// Work that never yields: the hub cannot run anything else until it returns.
__attribute__((noinline)) double resize_image(int rounds) {
  double x = 0;
  for (int i = 0; i < rounds; ++i) x += std::sqrt(static_cast<double>(i));
  return x;
}

int main() {
  green::Event shutdown;
  std::vector<green::GreenletRef> workers;
  auto server = green::spawn(green::SpawnOptions{.name = "server"}, [&] {
    for (int i = 0; i < 3; ++i)
      workers.push_back(green::spawn(green::SpawnOptions{.name = "worker-" + std::to_string(i)},
                                     [&] { shutdown.wait(); }));
    green::spawn(green::SpawnOptions{.name = "heartbeat"}, [&] {
      while (!shutdown.wait(0.5)) {
      }
    });
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) return;
    green::wait_read(pair[0], 30);  // a connection with nothing to read yet
    ::close(pair[0]);
    ::close(pair[1]);
  });
  green::sleep(0.01);

  green::print_run_info();

  if (green::max_blocking().count() == 0) green::set_max_blocking(std::chrono::milliseconds(100));
  green::spawn(green::SpawnOptions{.name = "resize"}, [] { std::printf("resized: %.0f\n", resize_image(400'000'000)); })
      .join();

  shutdown.set();
  server.kill();
  green::joinall(workers);
  std::fprintf(stderr, "stats: %s\n", green::hub_stats().format().c_str());
  return 0;
}
