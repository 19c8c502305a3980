#include "tracking/record.h"

#include "base/csv.h"
#include "base/utf8.h"
#include "protocol_log/message_tracking_fields.h"

namespace sluice::tracking {

namespace {

constexpr const auto& kFieldNames = protocol_log::kMessageTrackingFields;
static_assert(kFieldNames.size() == kFieldCount, "tracking::Field names every column");

// A record is one line: C0 controls and DEL (a CR or LF in a peer's reply) become spaces; what a
// terminal or grep would still trip on (C1 controls, bytes that are not UTF-8) is escaped.
std::string one_line_value(std::string_view value) {
  std::string out(value);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return escape_control_characters(out);
}

}  // namespace

std::string_view field_name(Field field) { return kFieldNames[field]; }

std::string fields_line() {
  std::string out;
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    if (i) out += ',';
    out += kFieldNames[i];
  }
  return out;
}

protocol_log::FileKind file_kind() { return {"MSGTRK", "Message Tracking Log", fields_line(), "message tracking log"}; }

std::vector<std::string> Record::recipients() const {
  std::vector<std::string> out;
  std::string_view all = fields[kRecipientAddress];
  while (!all.empty()) {
    auto semi = all.find(';');
    std::string_view one = all.substr(0, semi);
    if (!one.empty()) out.emplace_back(one);
    if (semi == std::string_view::npos) break;
    all.remove_prefix(semi + 1);
  }
  return out;
}

std::string Record::custom(std::string_view key) const {
  std::string_view all = fields[kCustomData];
  while (!all.empty()) {
    auto semi = all.find(';');
    std::string_view pair = all.substr(0, semi);
    if (pair.starts_with("S:")) pair.remove_prefix(2);
    if (pair.size() > key.size() && pair.substr(0, key.size()) == key && pair[key.size()] == '=')
      return std::string(pair.substr(key.size() + 1));
    if (semi == std::string_view::npos) break;
    all.remove_prefix(semi + 1);
  }
  return {};
}

void Record::add_custom(std::string_view key, std::string_view value) {
  if (value.empty()) return;
  std::string& all = fields[kCustomData];
  if (!all.empty()) all += ';';
  all += "S:";
  all += key;
  all += '=';
  // ';' separates the pairs: a value never carries one.
  for (char c : value) all += c == ';' ? ',' : c;
}

std::string format_record(const Record& record) {
  std::string out = protocol_log::format_time(record.time);
  for (std::size_t i = 1; i < kFieldCount; ++i) {
    out += ',';
    append_csv_field(out, one_line_value(record.fields[i]));
  }
  out += "\r\n";
  return out;
}

ColumnMap::ColumnMap() {
  for (std::size_t i = 0; i < kFieldCount; ++i) columns_.push_back(static_cast<Field>(i));
}

ColumnMap::ColumnMap(std::string_view fields_value) {
  while (true) {
    auto comma = fields_value.find(',');
    std::string_view name = fields_value.substr(0, comma);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\r')) name.remove_suffix(1);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    std::optional<Field> column;
    for (std::size_t i = 0; i < kFieldCount; ++i)
      if (kFieldNames[i] == name) column = static_cast<Field>(i);
    columns_.push_back(column);
    if (comma == std::string_view::npos) break;
    fields_value.remove_prefix(comma + 1);
  }
}

std::optional<Record> ColumnMap::parse(std::string_view line) const {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.empty() || line.front() == '#') return std::nullopt;
  auto values = parse_csv_record(line, columns_.size());
  // Exchange 2010's files may end a line early; a line with more columns than the header is not ours.
  if (!values || values->size() < 2) return std::nullopt;
  Record record;
  bool timed = false;
  for (std::size_t i = 0; i < values->size(); ++i) {
    if (!columns_[i]) continue;
    if (*columns_[i] == kDateTime) {
      auto time = protocol_log::parse_time((*values)[i]);
      if (!time) return std::nullopt;
      record.time = *time;
      timed = true;
      continue;
    }
    record.fields[*columns_[i]] = std::move((*values)[i]);
  }
  if (!timed || record[kEventId].empty()) return std::nullopt;
  return record;
}

}  // namespace sluice::tracking
