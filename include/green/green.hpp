// green/green.hpp: everything green offers, in one include.
#pragma once

#include "green/async_result.hpp"
#include "green/blocking_monitor.hpp"
#include "green/channel.hpp"
#include "green/errors.hpp"
#include "green/event.hpp"
#include "green/greenlet.hpp"
#include "green/hub.hpp"
#include "green/hub_thread.hpp"
#include "green/iwait.hpp"
#include "green/linkable.hpp"
#include "green/queue.hpp"
#include "green/raw_greenlet.hpp"
#include "green/run_info.hpp"
#include "green/stack_census.hpp"
#include "green/stats.hpp"
#include "green/timeout.hpp"
