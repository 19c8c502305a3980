// Reading SMTP replies as a client: one line at a time into a complete, possibly multi-line
// Reply (RFC 5321 4.2), with the enhanced status code (RFC 3463) split off when present.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "smtp/reply.h"

namespace sluice::smtp {

/// One reply line as it came off the wire (without CRLF).
struct ReplyLine {
  int code = 0;               ///< 250, 451, ...
  bool continuation = false;  ///< "250-..." (more lines follow)
  std::string enhanced;       ///< "2.1.5" when the text starts with one, else empty
  std::string text;           ///< the rest, without the enhanced code and its separating space
};

/// Parses "ddd text", "ddd-text", "ddd" (RFC 5321 Reply-line). The code's first digit must be
/// 2-5. An enhanced code is split off only when the text starts with class.subject.detail
/// (class 2, 4 or 5; subject and detail 1-3 digits) followed by a space or the end; its class
/// may differ from the reply code's (Exchange Online answers "451 5.7.3 ..."). Fails on bad
/// syntax, saying why.
Result<ReplyLine> parse_reply_line(std::string_view line);

/// Length of the enhanced status code at the start of `text` (0 when there is none).
std::size_t enhanced_code_length(std::string_view text);

/// Collects lines into one Reply. The reply's enhanced code is the first line's; later lines
/// lose theirs when it is the same (so Reply::wire() reproduces them) and keep it in their text
/// when it differs.
class ReplyAssembler {
 public:
  enum class Status { NeedMore, Complete, Error };

  explicit ReplyAssembler(std::size_t max_lines = 100) : max_lines_(max_lines) {}

  /// Adds one line (without CRLF). Error when the line is malformed, its code differs from the
  /// earlier lines' (RFC 5321 4.2.1: they MUST be the same) or the reply has too many lines;
  /// error() says which. After Complete or Error, call take()/reset() before the next reply.
  Status add(std::string_view line);
  /// The completed reply; resets the assembler.
  Reply take();
  void reset();
  const std::string& error() const { return error_; }

 private:
  std::size_t max_lines_;
  Reply reply_;
  std::size_t lines_ = 0;
  std::string error_;
};

}  // namespace sluice::smtp
