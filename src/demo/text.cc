#include "demo/text.h"

namespace sluice::demo {

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    auto line = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.emplace_back(line);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return lines;
}

std::string indent_lines(std::string_view text, std::string_view indent) {
  std::string out;
  for (const auto& line : lines_of(text)) {
    // No indent on empty lines: it would only be trailing white space.
    if (!line.empty()) out += indent;
    out += line;
    out += '\n';
  }
  return out;
}

}  // namespace sluice::demo
