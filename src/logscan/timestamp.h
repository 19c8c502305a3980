// Timestamps as logscan handles them: milliseconds since the Unix epoch (UTC) in an int64, parsed
// from the text of a log line without allocating.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::logscan {

/// Milliseconds since 1970-01-01T00:00:00Z.
using Millis = std::int64_t;
/// "No time known" (a session seen only through lines whose time could not be read).
inline constexpr Millis kNoTime = INT64_MIN;

/// Days since the epoch for a proleptic Gregorian date (no validation).
std::int64_t days_from_civil(int year, unsigned month, unsigned day);

/// ISO 8601 as the logs write it: "2023-01-11T16:00:01.010Z", "2026-11-27T07:00:01.123456+00:00",
/// "2026-11-27T07:00:01+01:00", 0 to 9 fractional digits (finer than ms is truncated). A missing
/// zone means UTC. `used`, when given, receives how many characters were consumed.
std::optional<Millis> parse_iso8601(std::string_view text, std::size_t* used = nullptr);

/// A traditional syslog stamp "Nov 27 07:00:01" (day may be space-padded: "Nov  7"). Syslog
/// writes no year and no zone: the year is `year`, the zone UTC (docs/logscan.md says why).
std::optional<Millis> parse_syslog_time(std::string_view text, int year);

/// A --since/--until argument: "2026-11-27", "2026-11-27T07", "2026-11-27T07:30", "...:00",
/// "2026-11-27 07:30:00", with optional fraction and zone; a date alone is its midnight UTC.
std::optional<Millis> parse_time_argument(std::string_view text);

/// "2023-01-11T16:00:01.010Z".
std::string format_iso(Millis t);
/// "2023-01-11 16:00" (hour buckets) or "2023-01-11" (day buckets).
std::string format_bucket(Millis t, bool by_day);

}  // namespace sluice::logscan
