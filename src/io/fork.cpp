#include "green/fork.hpp"

#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "core/thread_state.hpp"
#include "green/hub.hpp"

namespace green {

void reinit_after_fork() noexcept {
  detail::ThreadState* ts = detail::ThreadState::get_if_exists();
  if (ts != nullptr && ts->hub) ts->hub->reinit_after_fork();
}

pid_t fork() {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "green::fork");
  if (pid == 0) reinit_after_fork();
  return pid;
}

}  // namespace green
