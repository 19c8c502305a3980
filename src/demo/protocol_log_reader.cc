#include "demo/protocol_log_reader.h"

#include <algorithm>
#include <fstream>

#include "base/text.h"
#include "protocol_log/protocol_log.h"

namespace sluice::demo {
namespace {

/// Sort key of "SEND2024050112-3.LOG": ("2024050112", 3); unknown shapes sort last by name.
std::pair<std::string, long> log_key(const std::string& name, std::size_t prefix_length) {
  auto dash = name.rfind('-');
  auto dot = name.rfind('.');
  if (dash == std::string::npos || dot == std::string::npos || dash < prefix_length || dot < dash)
    return {"~" + name, 0};
  long index = 0;
  try {
    index = std::stol(name.substr(dash + 1, dot - dash - 1));
  } catch (const std::exception&) {
    return {"~" + name, 0};
  }
  return {name.substr(prefix_length, dash - prefix_length), index};
}

}  // namespace

std::vector<fs::path> protocol_log_files(const fs::path& dir, std::string_view prefix) {
  std::vector<std::pair<std::pair<std::string, long>, fs::path>> keyed;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0 || name.size() < 4 || name.substr(name.size() - 4) != ".LOG") continue;
    keyed.push_back({log_key(name, prefix.size()), it->path()});
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<fs::path> out;
  for (auto& [key, path] : keyed) out.push_back(std::move(path));
  return out;
}

std::vector<std::string> protocol_log_lines(const fs::path& dir, std::string_view prefix) {
  std::vector<std::string> lines;
  for (const auto& path : protocol_log_files(dir, prefix)) {
    std::ifstream in(path, std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
      while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
      if (line.empty() || line.front() == '#') continue;
      lines.push_back(std::move(line));
    }
  }
  return lines;
}

std::vector<std::string> LogCursor::new_lines() const {
  auto lines = all();
  if (seen_ >= lines.size()) return {};
  return {lines.begin() + static_cast<std::ptrdiff_t>(seen_), lines.end()};
}

void LogCursor::mark() { seen_ = all().size(); }

std::vector<std::string> grep(const std::vector<std::string>& lines, std::string_view needle, bool fold_case) {
  std::vector<std::string> out;
  std::string folded = fold_case ? ascii_lower(needle) : std::string(needle);
  for (const auto& line : lines)
    if ((fold_case ? ascii_lower(line) : line).find(folded) != std::string::npos) out.push_back(line);
  return out;
}

std::string session_of(const std::string& line) {
  auto parsed = protocol_log::parse_line(line);
  return parsed ? parsed->session_id : "";
}

std::vector<std::string> session_lines(const std::vector<std::string>& lines, const std::string& session) {
  std::vector<std::string> out;
  if (session.empty()) return out;
  for (const auto& line : lines)
    if (session_of(line) == session) out.push_back(line);
  return out;
}

}  // namespace sluice::demo
