// Splits a byte stream into lines without copying them: each line is a view into a large block
// that stays valid until the next call. A CSV record that continues over several lines (a quoted
// field with a line break) is put together with extend().
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "logscan/input_file.h"

namespace sluice::logscan {

class LineReader {
 public:
  /// `block_size` is how much is read at a time (ScanOptions::block_size: large enough that
  /// syscalls cost nothing next to parsing, small enough to stay in cache); `max_line` bounds a
  /// single line, so a file without newlines cannot make memory grow without limit (the rest of
  /// such a line is skipped).
  explicit LineReader(ByteSource& source, std::size_t block_size = 256u << 10, std::size_t max_line = 16u << 20);

  /// The next line without its LF or CRLF; false at the end. A last line without LF is returned
  /// as far as it goes.
  bool next(std::string_view& line);
  /// Makes `record` (what next() or extend() returned last) one physical line longer, line break
  /// included: for a quoted CSV field that spans lines. False at the end of the input, or when
  /// the record would pass `max_line`. Reading quotes only for the rare line that needs it keeps
  /// the common case at one memchr per line.
  bool extend(std::string_view& record);

  /// Number (from 1) of the first physical line of what next() returned last.
  std::uint64_t line_number() const { return line_number_; }
  /// Physical lines consumed so far.
  std::uint64_t lines() const { return lines_; }
  /// True when the last line returned had no line ending (the file was cut off).
  bool last_was_truncated() const { return truncated_; }
  /// True when the last line returned was cut at `max_line`.
  bool last_was_too_long() const { return too_long_; }
  /// A read error ended the stream early (ByteSource::error() says which).
  bool failed() const { return failed_; }

  static constexpr int kMaxRecordLines = 64;

 private:
  /// Reads more so that at least one byte past `buf_[end_]` arrives; false at the end or on error.
  bool fill();
  std::string_view take(std::size_t end_of_line, std::size_t next_start);

  ByteSource& source_;
  std::size_t block_size_, max_line_;
  std::vector<char> buf_;
  std::size_t pos_ = 0, end_ = 0;
  std::size_t rec_start_ = 0;  ///< where the last record starts; kept in the buffer while extending
  bool extending_ = false;
  bool eof_ = false, failed_ = false, truncated_ = false, too_long_ = false, skipping_ = false;
  std::uint64_t line_number_ = 0, lines_ = 0;
};

}  // namespace sluice::logscan
