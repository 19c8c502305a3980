// Ctrl-C during `sluice demo`: every wait of the demo wakes for SIGINT and SIGTERM and throws, so
// the stack unwinds and the gateways' destructors stop them in order.
#pragma once
#include <chrono>
#include <functional>
#include <stdexcept>

namespace sluice::demo {

using Millis = std::chrono::milliseconds;

/// Thrown by every wait once SIGINT or SIGTERM arrived.
struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted") {}
};

/// Installs SIGINT/SIGTERM handlers that only set a flag (without SA_RESTART, so blocking calls
/// return EINTR), and ignores SIGPIPE (a peer closing a socket is an error result, not a death).
void install_interrupt_handlers();
bool interrupted();
/// Throws Interrupted when a signal arrived.
void check_interrupted();
/// Sleeps, waking for signals.
void nap(Millis duration);
/// Calls `ready` every `poll` until it returns true (true) or `timeout` passes (false).
bool wait_until(const std::function<bool()>& ready, Millis timeout, Millis poll = Millis(100));

}  // namespace sluice::demo
