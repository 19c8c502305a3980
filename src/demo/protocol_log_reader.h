// Reading the gateways' protocol logs (Exchange's CSV format, docs/logging.md) as an
// administrator would: the files in writing order, the lines of one session, lines with a word.
#pragma once
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::demo {

namespace fs = std::filesystem;

/// The protocol log files in `dir` whose names start with `prefix` ("SEND", "RECV"), in the order
/// they were written: by hour, then by their -<n> index (numerically: -10 after -9).
std::vector<fs::path> protocol_log_files(const fs::path& dir, std::string_view prefix);
/// Every data line (no "#" header lines, no CR/LF) of those files, in order.
std::vector<std::string> protocol_log_lines(const fs::path& dir, std::string_view prefix);

/// Reads protocol log lines incrementally: new_lines() returns those after the mark.
class LogCursor {
 public:
  LogCursor(fs::path dir, std::string prefix) : dir_(std::move(dir)), prefix_(std::move(prefix)) {}
  std::vector<std::string> all() const { return protocol_log_lines(dir_, prefix_); }
  std::vector<std::string> new_lines() const;
  void mark();  ///< later new_lines() start after everything there now
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
  std::string prefix_;
  std::size_t seen_ = 0;
};

/// Lines containing `needle`; case-insensitive when `fold_case`.
std::vector<std::string> grep(const std::vector<std::string>& lines, std::string_view needle, bool fold_case = false);
/// The session id (third CSV field) of a protocol log line; "" when it does not parse.
std::string session_of(const std::string& line);
/// The lines of one session, in order.
std::vector<std::string> session_lines(const std::vector<std::string>& lines, const std::string& session);

}  // namespace sluice::demo
