// The server side of SMTP AUTH's responses (RFC 4954 4): base64 lines from the client, "*" to
// cancel, "=" for an empty initial response, and what PLAIN (RFC 4616) carries. What these
// return is a secret: never log it.
#pragma once
#include <string>
#include <string_view>

#include "base/result.h"
#include "smtp/reply.h"

namespace sluice::inbound {

/// The longest response line (or AUTH command with an initial response) taken, CRLF included:
/// RFC 4954 4 asks servers to take at least 12288 octets.
inline constexpr std::size_t kMaxAuthLine = 12288;

/// The decoded bytes of one response line (`initial`: the initial response of the AUTH command,
/// where "=" means empty). Refused: "*" (501 5.0.0 Authentication cancelled), anything that is
/// not padded base64 (501 5.5.2).
Result<std::string, smtp::Reply> decode_sasl_response(std::string_view line, bool initial);

struct PlainCredentials {
  std::string authorization;  ///< authzid: empty, or the same as user
  std::string user;           ///< authcid
  std::string password;
};
/// PLAIN's message, authzid NUL authcid NUL passwd (RFC 4616 2); 501 5.5.2 when it is not that.
Result<PlainCredentials, smtp::Reply> parse_plain(std::string_view message);

}  // namespace sluice::inbound
