// Session and queue identifiers.
#pragma once
#include <string>

namespace sluice {

/// A new 16-digit upper-case hex identifier, unique within this host across restarts: the high
/// bits are the start time in microseconds, the low bits a process-wide counter. Exchange's
/// session-ids have this shape, so log tools that expect it read ours.
std::string new_hex_id();

}  // namespace sluice
