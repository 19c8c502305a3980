#include "logscan/format_detect.h"

#include "base/text.h"
#include "logscan/csv_fields.h"
#include "logscan/timestamp.h"
#include "protocol_log/message_tracking_fields.h"

namespace sluice::logscan {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool Header::read(std::string_view line) {
  if (line.empty() || line.front() != '#') return false;
  // A UTF-8 byte order mark may precede the first line.
  line.remove_prefix(1);
  if (starts_with_ascii_nocase(line, "Fields:")) {
    fields.clear();
    std::string_view rest = trim(line.substr(7));
    while (!rest.empty()) {
      auto comma = rest.find(',');
      fields.emplace_back(trim(rest.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
  } else if (starts_with_ascii_nocase(line, "Log-type:")) {
    std::string_view type = trim(line.substr(9));
    if (starts_with_ascii_nocase(type, "SMTP Receive"))
      direction = Direction::Inbound;
    else if (starts_with_ascii_nocase(type, "SMTP Send"))
      direction = Direction::Outbound;
    else if (starts_with_ascii_nocase(type, "Message Tracking"))
      tracking = true;
  }
  return true;
}

const std::vector<std::string>& default_protocol_fields() {
  static const std::vector<std::string> f = {"date-time",       "connector-id",   "session-id",
                                             "sequence-number", "local-endpoint", "remote-endpoint",
                                             "event",           "data",           "context"};
  return f;
}

const std::vector<std::string>& default_tracking_fields() {
  static const std::vector<std::string> f(protocol_log::kMessageTrackingFields.begin(),
                                          protocol_log::kMessageTrackingFields.end());
  return f;
}

Format classify(const Header& header, std::string_view line) {
  auto has = [&](std::string_view name) {
    for (const auto& f : header.fields)
      if (f == name) return true;
    return false;
  };
  if (!header.fields.empty()) {
    if (has("event-id") && has("date-time")) return Format::MessageTracking;
    if (has("session-id") && has("event") && has("date-time")) return Format::ExchangeProtocol;
  }
  if (header.tracking) return Format::MessageTracking;
  if (line.size() >= 3 && static_cast<unsigned char>(line[0]) == 0xEF) line.remove_prefix(3);  // BOM
  std::size_t used = 0;
  auto t = parse_iso8601(line, &used);
  if (t && used < line.size() && line[used] == ',') {
    CsvField fields[40];
    int n = split_csv(line, fields);
    if (n == 9) return Format::ExchangeProtocol;
    if (n >= 20) return Format::MessageTracking;
    return Format::Unknown;
  }
  // Syslog: an ISO 8601 stamp or "Mmm dd hh:mm:ss", then a space and the host.
  if ((t && used < line.size() && line[used] == ' ') || parse_syslog_time(line, 2000)) return Format::Postfix;
  return Format::Unknown;
}

std::string format_name(Format f, std::optional<Direction> d) {
  switch (f) {
    case Format::ExchangeProtocol:
      if (!d) return "exchange-protocol";
      return *d == Direction::Inbound ? "exchange-receive" : "exchange-send";
    case Format::MessageTracking:
      return "message-tracking";
    case Format::Postfix:
      return "postfix";
    case Format::Unknown:
      break;
  }
  return "unknown";
}

std::optional<Direction> direction_from_name(std::string_view path) {
  auto slash = path.find_last_of('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (starts_with_ascii_nocase(base, "RECV")) return Direction::Inbound;
  if (starts_with_ascii_nocase(base, "SEND")) return Direction::Outbound;
  return std::nullopt;
}

}  // namespace sluice::logscan
