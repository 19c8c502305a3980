#include "base/csv.h"

namespace sluice {

void append_csv_field(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += field;
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

std::string csv_field(std::string_view field) {
  std::string out;
  append_csv_field(out, field);
  return out;
}

std::optional<std::vector<std::string>> parse_csv_record(std::string_view text, std::size_t max_fields) {
  std::vector<std::string> fields;
  std::size_t pos = 0;
  while (true) {
    std::string field;
    if (pos < text.size() && text[pos] == '"') {
      ++pos;
      while (true) {
        if (pos >= text.size()) return std::nullopt;  // unterminated quote
        if (text[pos] == '"') {
          if (pos + 1 < text.size() && text[pos + 1] == '"') {
            field += '"';
            pos += 2;
            continue;
          }
          ++pos;
          break;
        }
        field += text[pos++];
      }
      if (pos < text.size() && text[pos] != ',') return std::nullopt;
    } else {
      std::size_t end = text.find(',', pos);
      if (end == std::string_view::npos) end = text.size();
      field.assign(text.substr(pos, end - pos));
      if (field.find_first_of("\"\r\n") != std::string::npos) return std::nullopt;
      pos = end;
    }
    fields.push_back(std::move(field));
    if (fields.size() > max_fields) return std::nullopt;
    if (pos >= text.size()) return fields;
    ++pos;  // the comma
  }
}

}  // namespace sluice
