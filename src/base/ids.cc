#include "base/ids.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>

namespace sluice {

std::string new_hex_id() {
  // 48 bits of process start time (µs, wraps every ~9 years) and a counter below them. A later
  // process starts above every id an earlier one made unless that one made more than 65,536 ids
  // per microsecond it lived, which no SMTP server does.
  static const uint64_t start = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  static std::atomic<uint64_t> counter{0};
  uint64_t value = ((start & 0xFFFF'FFFF'FFFFull) << 16) + counter.fetch_add(1, std::memory_order_relaxed);
  return fmt::format("{:016X}", value);
}

}  // namespace sluice
