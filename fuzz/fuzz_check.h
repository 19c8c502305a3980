// What the fuzz targets share: an invariant check that stops the fuzzer with a readable message
// (abort() is what libFuzzer reports as a crash and saves the input for), and line splitting.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

/// Stops the run when an invariant does not hold; libFuzzer then saves the input.
#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

namespace fuzz {

/// The input as lines: split at LF, a CR before the LF dropped (seeds are transcripts and logs).
inline std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    auto lf = text.find('\n');
    std::string_view line = text.substr(0, lf);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (lf == std::string_view::npos) break;
    text.remove_prefix(lf + 1);
  }
  return lines;
}

/// True when `text` contains exactly one CRLF, at its end, and no other CR or LF.
inline bool single_wire_line(std::string_view text) {
  if (text.size() < 2 || text.substr(text.size() - 2) != "\r\n") return false;
  return text.substr(0, text.size() - 2).find_first_of("\r\n") == std::string_view::npos;
}

}  // namespace fuzz
