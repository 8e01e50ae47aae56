// Helpers shared by the io tests.
#pragma once

#include <gtest/gtest.h>

#include <utility>

#include "green/green.hpp"

namespace green::test {

// A listening TCP socket on 127.0.0.1 with a port the kernel picked.
inline Socket listener(int backlog = 1024) {
  Socket s(AF_INET, SOCK_STREAM);
  s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
  s.bind(Address::ip("127.0.0.1", 0));
  s.listen(backlog);
  return s;
}

// A connected pair of TCP sockets over 127.0.0.1: {client, server side}.
inline std::pair<Socket, Socket> tcp_pair() {
  Socket l = listener();
  Socket client(AF_INET, SOCK_STREAM);
  client.connect(l.getsockname());
  auto [server, peer] = l.accept();
  return {std::move(client), std::move(server)};
}

// Yields until `pred` holds; bounded (a few seconds), so tests wait on events, not on time.
template <class Pred>
bool yield_until(Pred pred) {
  for (int i = 0; i < 10000; ++i) {
    if (pred()) return true;
    green::sleep(0.0005);
  }
  return false;
}

}  // namespace green::test
