// The instant the queue viewer's tests take as "now": fixed, so that ages and next retries print
// the same on every run.
#pragma once
#include <chrono>

#include "queue/envelope.h"

namespace sluice::queue {

inline const std::chrono::system_clock::time_point kViewTestNow = *parse_utc_time("2024-05-01T12:35:50Z");

}  // namespace sluice::queue
