// Built against an installed green, once through find_package and once through pkg-config.
#include <green/green.hpp>

#include <cstdio>

int main() {
  auto a = green::spawn([] {
    green::sleep(0.001);
    return 20;
  });
  auto b = green::spawn([] { return 22; });
  green::joinall({a, b});
  std::printf("consumer: %d\n", a.get() + b.get());
  return a.get() + b.get() == 42 ? 0 : 1;
}
