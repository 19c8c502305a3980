// The clock of the classes that time things while the gateway runs (file checks, AUTH penalties,
// rate windows, the callout cache): a function, so that tests can move time on by hand.
#pragma once
#include <chrono>
#include <functional>

namespace sluice {

using SteadyClock = std::function<std::chrono::steady_clock::time_point()>;

/// `clock`, or std::chrono::steady_clock when it is empty (what those classes take by default).
inline SteadyClock steady_clock_if_empty(SteadyClock clock) {
  if (clock) return clock;
  return [] { return std::chrono::steady_clock::now(); };
}

}  // namespace sluice
