#include "logscan/timestamp.h"

#include <fmt/format.h>

namespace sluice::logscan {
namespace {

constexpr Millis kMsPerDay = 86'400'000;

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    unsigned d = static_cast<unsigned char>(s[i]) - '0';
    if (d > 9) return false;
    v = v * 10 + static_cast<int>(d);
  }
  out = v;
  return true;
}

bool valid_date(int y, int mo, int d) {
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1]) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return !(mo == 2 && d == 29 && !leap);
}

struct Civil {
  int year;
  unsigned month, day, hour, minute, second, millis;
};

Civil civil_from(Millis t) {
  Millis days = t >= 0 ? t / kMsPerDay : (t - kMsPerDay + 1) / kMsPerDay;
  Millis rest = t - days * kMsPerDay;
  // Howard Hinnant's civil_from_days.
  std::int64_t z = days + 719468;
  std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  auto doe = static_cast<unsigned>(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  unsigned d = doy - (153 * mp + 2) / 5 + 1;
  unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int>(y + (m <= 2)),
          m,
          d,
          static_cast<unsigned>(rest / 3'600'000),
          static_cast<unsigned>(rest / 60'000 % 60),
          static_cast<unsigned>(rest / 1000 % 60),
          static_cast<unsigned>(rest % 1000)};
}

/// "hh:mm[:ss[.fff]]" followed by an optional zone, from `pos`; adds to `t`.
bool parse_clock_and_zone(std::string_view s, std::size_t pos, bool seconds_required, Millis& t, std::size_t* used) {
  int h = 0, mi = 0, sec = 0, millis = 0;
  if (!digits(s, pos, 2, h) || pos + 2 >= s.size() || s[pos + 2] != ':' || !digits(s, pos + 3, 2, mi)) return false;
  pos += 5;
  if (pos < s.size() && s[pos] == ':') {
    if (!digits(s, pos + 1, 2, sec)) return false;
    pos += 3;
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      std::size_t start = ++pos;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && pos - start < 9) {
        if (pos - start < 3) millis = millis * 10 + (s[pos] - '0');
        ++pos;
      }
      std::size_t n = pos - start;
      if (n == 0) return false;
      for (std::size_t i = n; i < 3; ++i) millis *= 10;
    }
  } else if (seconds_required) {
    return false;
  }
  if (h > 23 || mi > 59 || sec > 60) return false;  // 60: a leap second, read as :59 + 1 s
  Millis offset = 0;
  if (pos < s.size() && s[pos] == 'Z') {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0, om = 0;
    if (!digits(s, pos + 1, 2, oh)) return false;
    std::size_t next = pos + 3;
    if (next < s.size() && s[next] == ':') ++next;
    if (!digits(s, next, 2, om) || oh > 23 || om > 59) return false;
    offset = (oh * 60 + om) * 60'000LL * (s[pos] == '-' ? -1 : 1);
    pos = next + 2;
  }
  t += ((h * 60LL + mi) * 60 + sec) * 1000 + millis - offset;
  if (used) *used = pos;
  return true;
}

}  // namespace

std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  auto yoe = static_cast<unsigned>(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<Millis> parse_iso8601(std::string_view s, std::size_t* used) {
  int y = 0, mo = 0, d = 0;
  if (!digits(s, 0, 4, y) || s.size() < 11 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || s[10] != 'T' || !valid_date(y, mo, d)) {
    return std::nullopt;
  }
  Millis t = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * kMsPerDay;
  if (!parse_clock_and_zone(s, 11, true, t, used)) return std::nullopt;
  return t;
}

std::optional<Millis> parse_syslog_time(std::string_view s, int year) {
  static constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (s.size() < 15 || s[3] != ' ') return std::nullopt;
  std::size_t m = kMonths.find(s.substr(0, 3));
  if (m == std::string_view::npos || m % 3 != 0) return std::nullopt;
  int mo = static_cast<int>(m / 3) + 1, d = 0;
  if (s[4] == ' ') {
    if (!digits(s, 5, 1, d)) return std::nullopt;
  } else if (!digits(s, 4, 2, d)) {
    return std::nullopt;
  }
  if (s[6] != ' ' || !valid_date(year, mo, d)) return std::nullopt;
  Millis t = days_from_civil(year, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * kMsPerDay;
  std::size_t used = 0;
  // Syslog stamps have no zone: stop before anything that is not part of the clock.
  if (!parse_clock_and_zone(s.substr(0, 15), 7, true, t, &used) || used != 15) return std::nullopt;
  return t;
}

std::optional<Millis> parse_time_argument(std::string_view s) {
  int y = 0, mo = 0, d = 0;
  if (s.size() < 10 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || !valid_date(y, mo, d)) {
    return std::nullopt;
  }
  Millis t = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * kMsPerDay;
  if (s.size() == 10) return t;
  if (s[10] != 'T' && s[10] != ' ') return std::nullopt;
  std::string clock(s.substr(11));
  if (clock.size() == 2) clock += ":00";  // "T07": the hour
  std::size_t used = 0;
  std::string full = "0000-00-00T" + clock;
  if (!parse_clock_and_zone(full, 11, false, t, &used) || used != full.size()) return std::nullopt;
  return t;
}

std::string format_iso(Millis t) {
  if (t == kNoTime) return "";
  Civil c = civil_from(t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", c.year, c.month, c.day, c.hour, c.minute, c.second,
                     c.millis);
}

std::string format_bucket(Millis t, bool by_day) {
  Civil c = civil_from(t);
  if (by_day) return fmt::format("{:04}-{:02}-{:02}", c.year, c.month, c.day);
  return fmt::format("{:04}-{:02}-{:02} {:02}:00", c.year, c.month, c.day, c.hour);
}

}  // namespace sluice::logscan
