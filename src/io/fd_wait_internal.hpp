// What the io layer's own types (Socket, servers, pipes) use on top of green/wait.hpp.
#pragma once

#include <optional>

namespace green::detail {

// An exclusive wait for `events` on `fd`, named `what` ("Socket.recv") in diagnostics and
// errors. Returns true when ready, false on timeout; throws as wait_read does.
bool wait_io(int fd, int events, std::optional<double> timeout, const char* what);

}  // namespace green::detail
