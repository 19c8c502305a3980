// The interface every format reader implements, and what it is given to work with.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "logscan/aggregate.h"
#include "logscan/collector.h"
#include "logscan/line_reader.h"

namespace sluice::logscan {

/// What a reader needs besides its lines.
struct ReadContext {
  std::string file;         ///< as the report names it
  std::uint64_t order = 0;  ///< unit-of-work number, for PartialSession::order
  Collector* out = nullptr;
  FileStats* stats = nullptr;
  /// Traditional syslog stamps carry no year: they are read as the year of this time (the
  /// file's modification time), a year earlier when that would put them in the future.
  Millis reference_time = kNoTime;
};

/// Reads one format, line by line, into a Collector.
class LogReader {
 public:
  virtual ~LogReader() = default;
  /// One line (or CSV record) with the number of its first physical line; `truncated` when it
  /// is the last line of a file that was cut off (it is read as far as it goes). Returns false,
  /// only when `may_continue`, for a record that goes on in the next line (an open quote): it is
  /// then called again with the next line appended.
  virtual bool line(std::string_view text, std::uint64_t number, bool truncated, bool may_continue) = 0;
  /// The end of this unit of work: sessions still open are handed on as partial sessions.
  virtual void finish() = 0;

 protected:
  void malformed(const ReadContext& ctx, std::uint64_t number, std::string_view text) {
    ++ctx.stats->malformed;
    ctx.out->aggregate().add_malformed(ctx.file, number, text);
  }
};

/// Hands the line `lines` just returned to `reader`, extending it while the reader asks for
/// more (up to LineReader::kMaxRecordLines physical lines).
inline void read_record(LineReader& lines, LogReader& reader, std::string_view line) {
  for (int joined = 1;; ++joined) {
    bool may_continue = joined < LineReader::kMaxRecordLines;
    if (reader.line(line, lines.line_number(), lines.last_was_truncated(), may_continue)) return;
    if (!lines.extend(line)) {
      reader.line(line, lines.line_number(), lines.last_was_truncated(), false);
      return;
    }
  }
}

}  // namespace sluice::logscan
