#include "demo/narrator.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

#include "demo/text.h"

namespace sluice::demo {

Narrator::Narrator() : color_(isatty(STDOUT_FILENO) != 0) {}

void Narrator::title(std::string_view text) { print(fmt::emphasis::bold, fmt::format("{}\n", text)); }

void Narrator::heading(int step, std::string_view text) {
  print(fmt::emphasis::bold, fmt::format("\n== Step {}. {}\n", step, text));
}

void Narrator::say(std::string_view text) { fmt::print("{}", indent_lines(text, "  ")); }

void Narrator::command(std::string_view line) {
  print(fmt::fg(fmt::terminal_color::cyan), fmt::format("  $ {}\n", line));
}

void Narrator::quote(const std::vector<std::string>& lines) {
  for (const auto& line : lines) fmt::print("    |{}{}\n", line.empty() ? "" : " ", line);
}

void Narrator::quote_text(std::string_view text) { quote(lines_of(text)); }

bool Narrator::check(bool ok, std::string_view what) {
  if (ok) {
    ++passed_;
    print(fmt::fg(fmt::terminal_color::green), "  PASS ");
  } else {
    ++failed_;
    print(fmt::fg(fmt::terminal_color::red) | fmt::emphasis::bold, "  FAIL ");
  }
  fmt::print(" {}\n", what);
  std::fflush(stdout);
  return ok;
}

void Narrator::require(bool ok, std::string_view what) {
  if (!check(ok, what)) throw StepFailed(std::string(what));
}

void Narrator::print(fmt::text_style style, std::string_view text) {
  if (color_)
    fmt::print(style, "{}", text);
  else
    fmt::print("{}", text);
}

std::vector<std::string> line_diff(const std::string& before, const std::string& after) {
  auto a = lines_of(before), b = lines_of(after);
  std::vector<std::string> out;
  if (a.size() != b.size()) {
    for (const auto& line : b) out.push_back(" " + line);
    return out;
  }
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) out.push_back("-" + a[i]), out.push_back("+" + b[i]);
  return out;
}

std::vector<std::string> shorten_replies(const std::vector<std::string>& transcript) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < transcript.size();) {
    std::size_t end = i + 1;
    if (transcript[i].rfind("S: ", 0) == 0 && transcript[i].size() > 6 && transcript[i][6] == '-')
      while (end < transcript.size() && transcript[end - 1].size() > 6 && transcript[end - 1][6] == '-' &&
             transcript[end].rfind("S: ", 0) == 0)
        ++end;
    out.push_back(transcript[i]);
    if (end - i > 2) out.push_back(fmt::format("S: {}-... ({} more lines)", transcript[i].substr(3, 3), end - i - 2));
    if (end - i > 1) out.push_back(transcript[end - 1]);
    i = end;
  }
  return out;
}

std::vector<std::string> last(std::vector<std::string> lines, std::size_t n) {
  if (lines.size() > n) lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(n));
  return lines;
}

}  // namespace sluice::demo
