#include "queue/view_format.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "base/utf8.h"
#include "queue/envelope.h"

namespace sluice::queue {

using TimePoint = std::chrono::system_clock::time_point;
using Json = nlohmann::json;

std::string relative_time(TimePoint when, TimePoint now) {
  using namespace std::chrono;
  auto diff = duration_cast<seconds>(when - now).count();  // truncates toward zero
  if (diff == 0) return "now";
  long long left = std::llabs(diff);
  const std::pair<long long, const char*> units[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  std::string text;
  int shown = 0;
  for (const auto& [size, name] : units) {
    long long count = left / size;
    left %= size;
    if (shown == 0 && count == 0) continue;
    if (count != 0) text += fmt::format("{}{}{}", text.empty() ? "" : " ", count, name);
    if (++shown == 2) break;
  }
  return diff > 0 ? "in " + text : text + " ago";
}

std::string time_with_relative(TimePoint time, TimePoint now) {
  return fmt::format("{} ({})", format_utc_time(time), relative_time(time, now));
}

Json time_json(TimePoint time) { return time == TimePoint{} ? Json(nullptr) : Json(format_utc_time(time)); }

Json optional_time_json(const std::optional<TimePoint>& time) {
  return time ? Json(format_utc_time(*time)) : Json(nullptr);
}

bool optional_time_from_json(const Json& value, std::optional<TimePoint>& out) {
  TimePoint time;
  if (!time_from_json(value, time)) return false;
  out = time == TimePoint{} ? std::nullopt : std::optional<TimePoint>(time);
  return true;
}

/// Reads an ISO time or null (the epoch); false for anything else.
bool time_from_json(const Json& value, TimePoint& out) {
  if (value.is_null()) {
    out = {};
    return true;
  }
  if (!value.is_string()) return false;
  auto time = parse_utc_time(value.get_ref<const std::string&>());
  if (!time) return false;
  out = *time;
  return true;
}

/// A count: any JSON integer that is not negative (a literal 1 is signed in nlohmann::json).
bool count_from_json(const Json& value, std::uint64_t& out) {
  if (value.is_number_unsigned())
    out = value.get<std::uint64_t>();
  else if (value.is_number_integer() && value.get<std::int64_t>() >= 0)
    out = static_cast<std::uint64_t>(value.get<std::int64_t>());
  else
    return false;
  return true;
}

const std::string& string_at(const Json& object, const char* key) {
  return object.at(key).get_ref<const std::string&>();  // throws type_error when not a string
}

std::string printable(std::string_view text) { return escape_control_characters(text); }

/// Columns on a terminal: UTF-8 continuation bytes take none.
std::size_t width(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string pad(std::string_view text, std::size_t columns, bool right) {
  std::string fill(columns > width(text) ? columns - width(text) : 0, ' ');
  return right ? fill + std::string(text) : std::string(text) + fill;
}

}  // namespace sluice::queue
