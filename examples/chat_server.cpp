// A chat server: each line a client sends goes to every other client. Each client has a
// queue of lines to send and a greenlet that writes them, so one slow client never
// holds up the others.   ./chat_server [port]   (then: nc 127.0.0.1 7001)
#include <green/green.hpp>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

struct Client {
  green::Queue<std::string> outbox{1000};  // bounded: a client that never reads is dropped
};

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 7001;
  std::map<std::string, Client*> clients;
  auto broadcast = [&](const std::string& from, const std::string& line) {
    for (auto& [name, client] : clients)
      if (name != from) try {
          client->outbox.put_nowait(line);
        } catch (const green::QueueFull&) {
          client->outbox.close();  // too slow: its writer ends, then its connection
        } catch (const green::QueueClosed&) {
        }
  };
  green::StreamServer server(green::Address::ip("127.0.0.1", port), [&](green::Socket& conn, const green::Address& peer) {
    const std::string name = peer.to_string();
    Client me;
    clients[name] = &me;
    auto writer = green::spawn([&] {
      try {
        for (std::string& line : me.outbox) conn.sendall(line);
        conn.shutdown(SHUT_RDWR);  // wakes the reader below
      } catch (const std::system_error&) {  // the client is gone
      }
    });
    broadcast(name, "* " + name + " joined\n");
    try {
      for (;;) broadcast(name, name + ": " + conn.recv_until("\n", 4096));
    } catch (const std::exception&) {  // EOF, reset, line too long: the client is gone
    }
    clients.erase(name);
    me.outbox.close();
    writer.join();
    broadcast(name, "* " + name + " left\n");
  });
  auto on_term = green::signal_handler(SIGTERM, [&] { server.stop(); });
  server.start();
  std::printf("chat server on %s\n", server.address().to_string().c_str());
  std::fflush(stdout);
  server.serve_forever();
}
