#include "base/unit_duration.h"

namespace sluice {

std::optional<std::int64_t> parse_unit_duration(std::string_view text, std::span<const DurationUnit> units) {
  std::size_t next_unit = 0;
  std::int64_t total = 0;
  std::size_t i = 0;
  if (text.empty()) return std::nullopt;
  while (i < text.size()) {
    std::int64_t number = 0;
    std::size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (++digits > 10) return std::nullopt;
      number = number * 10 + (text[i++] - '0');
    }
    if (digits == 0 || i == text.size()) return std::nullopt;
    const char unit = text[i++];
    while (next_unit < units.size() && units[next_unit].unit != unit) ++next_unit;
    if (next_unit == units.size()) return std::nullopt;
    total += number * units[next_unit].seconds;
    ++next_unit;
  }
  return total;
}

}  // namespace sluice
