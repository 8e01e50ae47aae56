// green/run_info.hpp: what every greenlet is doing, as text.
//
// format_run_info() describes every hub in the process (its thread, its stats) and every
// greenlet on it, as a tree by spawner: name, id, state (running; ready; waiting on what,
// for how long, the fd and direction when the wait names one, the time left before its
// timeout), and age. Each hub describes itself on its own thread (another hub is asked
// through Hub::call_threadsafe and given a second to answer), so the picture of each hub
// is consistent; a hub that does not answer is stalled (see blocking_monitor.hpp) and only
// its counters are shown.
//
// With GREEN_DUMP_SIGNAL set (USR1, USR2 or a number; 1 means USR1) when the main
// thread's hub is created, that signal makes the hub print the run info on stderr, from
// its loop (not from the signal handler). Programs started by green-run get it too.
#pragma once

#include <string>

namespace green {

std::string format_run_info();
// format_run_info() on stderr.
void print_run_info();

}  // namespace green
