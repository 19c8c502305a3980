// reply: SMTP replies read from the wire, multi-line ones included (RFC 5321 4.2.1).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sluice::bench {

/// One complete reply: its three-digit code and its lines as received, without CRLF.
struct Reply {
  int code = 0;
  std::vector<std::string> lines;

  /// The lines joined with " / ", for error messages ("550 5.1.1 no such user").
  std::string text() const;
  /// True when an EHLO reply announces `keyword` (case-insensitive, first word after "250-"/"250 ").
  bool has_extension(std::string_view keyword) const;
};

/// What take_reply found at the front of the buffer.
enum class ReplyStatus { incomplete, complete, malformed };

/// Takes one complete reply off the front of `buffer` into `out` (a reply ends with a line whose
/// fourth character is a space, or that is only the code). Incomplete input is left in place; a
/// line without CRLF, a bad code, a code that changes inside a multi-line reply, or a line longer
/// than 4 KiB is `malformed`, with `error` saying why.
ReplyStatus take_reply(std::string& buffer, Reply& out, std::string& error);

}  // namespace sluice::bench
