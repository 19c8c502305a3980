// What the queue viewer's tables and JSON forms share: times as text and JSON, counts from JSON,
// and text made safe and aligned for a terminal.
#pragma once
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::queue {

/// "in 4m 10s", "2h 5m ago", "now": `when` relative to `now`, two units at most.
std::string relative_time(std::chrono::system_clock::time_point when, std::chrono::system_clock::time_point now);
/// "2024-05-01T12:34:56Z (2h 5m ago)".
std::string time_with_relative(std::chrono::system_clock::time_point time, std::chrono::system_clock::time_point now);

/// An ISO time, or null for the epoch (a time never set).
nlohmann::json time_json(std::chrono::system_clock::time_point time);
/// Reads an ISO time or null (the epoch); false for anything else.
bool time_from_json(const nlohmann::json& value, std::chrono::system_clock::time_point& out);
/// An optional time: ISO, or null when unset; and back (null or the epoch read as unset).
nlohmann::json optional_time_json(const std::optional<std::chrono::system_clock::time_point>& time);
bool optional_time_from_json(const nlohmann::json& value, std::optional<std::chrono::system_clock::time_point>& out);
/// A count: any JSON integer that is not negative (a literal 1 is signed in nlohmann::json).
bool count_from_json(const nlohmann::json& value, std::uint64_t& out);
/// The string member `key`; throws nlohmann::json::exception when missing or not a string.
const std::string& string_at(const nlohmann::json& object, const char* key);

/// The rows of a JSON array, each read by `read(item, row)`; nullopt when `rows` is not an array or
/// any item is refused (`read` returns false or throws nlohmann::json::exception). Never throws.
template <typename Row, typename Read>
std::optional<std::vector<Row>> rows_from_json(const nlohmann::json& rows, Read read) {
  if (!rows.is_array()) return std::nullopt;
  std::vector<Row> out;
  try {
    for (const auto& item : rows) {
      Row row;
      if (!read(item, row)) return std::nullopt;
      out.push_back(std::move(row));
    }
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  return out;
}

/// Control characters (C0, DEL, C1) and bytes that are not UTF-8 as escapes (escape_control_characters): a
/// peer's reply text must not reach the terminal raw.
std::string printable(std::string_view text);
/// Columns on a terminal: UTF-8 continuation bytes take none.
std::size_t width(std::string_view text);
/// `text` filled with spaces to `columns`, on the left when `right`.
std::string pad(std::string_view text, std::size_t columns, bool right = false);

}  // namespace sluice::queue
