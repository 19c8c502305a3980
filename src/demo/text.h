// Splitting and indenting the text the demo quotes (logs, configurations, messages).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace sluice::demo {

/// The lines of `text`, without their LF or CRLF; a final line end does not start another line
/// ("" and "\n" are no line and one empty line).
std::vector<std::string> lines_of(std::string_view text);

/// `text` with each non-empty line prefixed by `indent`, each line ending in LF ("" stays "").
std::string indent_lines(std::string_view text, std::string_view indent);

}  // namespace sluice::demo
