// Durations written as numbers with units, largest unit first ("90s", "1h30m", "1d12h"): the
// configuration's timeouts and the queue viewer's --older-than read them alike, each with the
// units it allows.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace sluice {

struct DurationUnit {
  char unit;
  std::int64_t seconds;
};

/// Total seconds of `text`: one or more numbers of at most 10 digits, each followed by one of
/// `units` (given largest first; each used at most once, in that order). nullopt otherwise.
std::optional<std::int64_t> parse_unit_duration(std::string_view text, std::span<const DurationUnit> units);

}  // namespace sluice
