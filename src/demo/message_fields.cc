#include "demo/message_fields.h"

#include "base/text.h"
#include "demo/text.h"

namespace sluice::demo {
namespace {

bool is_field_of(std::string_view line, std::string_view name) {
  return line.size() > name.size() && line[name.size()] == ':' &&
         ascii_lower(line.substr(0, name.size())) == ascii_lower(name);
}

/// The unfolded field starting at lines[i] (lines[i] is "Name: ..."), continuation lines joined.
std::string unfold_at(const std::vector<std::string>& lines, std::size_t i) {
  std::string value(lines[i]);
  for (std::size_t j = i + 1; j < lines.size() && !lines[j].empty() && (lines[j][0] == ' ' || lines[j][0] == '\t');
       ++j) {
    std::string_view rest = lines[j];
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    value += ' ';
    value += rest;
  }
  return value;
}

}  // namespace

std::optional<std::string> header_value(std::string_view message, std::string_view name) {
  auto lines = lines_of(message);
  for (std::size_t i = 0; i < lines.size() && !lines[i].empty(); ++i) {
    if (!is_field_of(lines[i], name)) continue;
    std::string field = unfold_at(lines, i);
    std::string_view value(field);
    value.remove_prefix(name.size() + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    return std::string(value);
  }
  return std::nullopt;
}

std::vector<std::string> field_lines(std::string_view text, std::string_view name) {
  std::vector<std::string> out;
  auto lines = lines_of(text);
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (is_field_of(lines[i], name)) out.push_back(unfold_at(lines, i));
  return out;
}

}  // namespace sluice::demo
