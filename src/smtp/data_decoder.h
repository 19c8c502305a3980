// The DATA phase: end-of-data detection and dot-unstuffing (RFC 5321 4.5.2), with one rule
// that makes SMTP smuggling impossible (docs/smtp.md).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace sluice::smtp {

/// Incremental decoder fed with whatever the socket delivered.
///
/// The only end of data is CRLF "." CRLF (the DATA command's CRLF counts as the first CRLF).
/// Any bare LF (not preceded by CR) or bare CR (not followed by LF) anywhere in the content is a
/// defect, and a message with a defect is refused after its end is read: then no reading of the
/// same bytes by another MTA can find a different end, or a second message.
class DataDecoder {
 public:
  enum class Defect { None, BareLf, BareCr, LineTooLong, TooBig };

  /// `max_size`: content bytes passed on (after unstuffing); beyond that the content is counted,
  /// not kept, and the defect is TooBig. `max_line_length`: octets of a line including CRLF
  /// (RFC 5321 4.5.3.1.6: 1000), counted after unstuffing so that a 998-octet line that begins
  /// with "." is not refused for the dot its sender added.
  DataDecoder(std::size_t max_size, std::size_t max_line_length = 1000);

  /// Consumes bytes until the end of data is found; returns how many bytes of `input` were
  /// consumed. Bytes after the terminating ".\r\n" are not consumed (they belong to the next
  /// command of a pipelining client).
  std::size_t feed(std::string_view input);

  bool done() const { return done_; }
  /// The first defect seen (None if the content is clean).
  Defect defect() const { return defect_; }
  /// The content decoded since the last clear_content() (all of it when never cleared), unstuffed,
  /// CRLF line endings, without the terminating ".\r\n". Complete only once done() and
  /// !truncated(). Bare CR and LF are kept as received.
  const std::string& content() const { return content_; }
  /// Forgets content() (keeping its capacity): a caller that passes the content on after each
  /// feed() (the session streams it to the spool) holds at most one feed's worth in memory.
  void clear_content() { content_.clear(); }
  /// Content octets seen (after unstuffing), including those not kept.
  std::size_t size() const { return size_; }
  /// True when content() lost octets beyond max_size. Differs from defect() == TooBig when an
  /// earlier defect (a bare LF, say) was reported first.
  bool truncated() const { return size_ > max_size_; }

 private:
  /// Where the scanner is, relative to the last CRLF (the start of data counts as one).
  enum class State {
    LineStart,  ///< just after CRLF
    Text,       ///< inside a line
    Cr,         ///< a CR was read, not yet known to be part of CRLF
    Dot,        ///< a line began with "." (removed)
    DotCr,      ///< "." CR at the start of a line: LF would end the data
  };
  void emit(std::string_view bytes);
  void count_line(std::size_t octets);
  void end_line();
  void flag(Defect defect);

  std::size_t max_size_;
  std::size_t max_line_length_;
  std::string content_;
  std::size_t size_ = 0;
  std::size_t line_length_ = 0;  ///< octets of the current line so far
  State state_ = State::LineStart;
  bool done_ = false;
  Defect defect_ = Defect::None;
};

}  // namespace sluice::smtp
