// green/green.hpp: everything green offers, in one include.
#pragma once

#include "green/async_result.hpp"
#include "green/errors.hpp"
#include "green/event.hpp"
#include "green/greenlet.hpp"
#include "green/hub.hpp"
#include "green/iwait.hpp"
#include "green/linkable.hpp"
#include "green/raw_greenlet.hpp"
#include "green/thread_pool.hpp"
#include "green/timeout.hpp"
#include "green/resolver.hpp"
#include "green/socket.hpp"
#include "green/wait.hpp"
