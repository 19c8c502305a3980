#include "smtp/message_headers.h"

#include "base/text.h"

namespace sluice::smtp {

std::optional<std::string_view> next_header_line(std::string_view message, std::size_t& pos) {
  if (pos >= message.size()) return std::nullopt;
  std::size_t end = message.find('\n', pos);
  if (end == std::string_view::npos) end = message.size();
  std::string_view line = message.substr(pos, end - pos);
  pos = end + 1;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return std::nullopt;  // the end of the header block
  return line;
}

std::string header_value(std::string_view message, std::string_view name) {
  std::string value;
  bool inside = false;
  std::size_t pos = 0;
  while (auto next = next_header_line(message, pos)) {
    std::string_view line = *next;
    const bool continuation = line[0] == ' ' || line[0] == '\t';
    if (inside && continuation) {
      value += line;
      continue;
    }
    if (inside) break;
    if (line.size() > name.size() && line[name.size()] == ':' && starts_with_ascii_nocase(line, name)) {
      inside = true;
      value = line.substr(name.size() + 1);
    }
  }
  auto first = value.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  value.erase(0, first);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
  return value;
}

}  // namespace sluice::smtp
