// 10,000 greenlets sleep concurrently: the whole run takes about as long as the longest
// sleep, not the sum of them.
#include <green/green.hpp>

#include <chrono>
#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 10000;
  const auto start = std::chrono::steady_clock::now();

  std::vector<green::GreenletRef> sleepers;
  sleepers.reserve(count);
  for (int i = 0; i < count; ++i)
    sleepers.push_back(green::spawn([i] {
      green::sleep(0.1 + (i % 10) * 0.01);  // 100..190 ms
      return i;
    }));
  auto done = green::joinall(sleepers);

  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%zu of %d greenlets slept 100-190 ms each, concurrently, in %.3f s "
              "(%.1f s if run one after another)\n",
              done.size(), count, elapsed, count * 0.145);
  return done.size() == static_cast<std::size_t>(count) ? 0 : 1;
}
