// The `_smtp._tls.<domain>` TXT record of RFC 8460 3: where a domain wants TLS reports sent.
// "v=TLSRPTv1; rua=mailto:tlsrpt@example.org,https://reports.example.org/v1" -> two rua URIs.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sluice::tlsrpt {

struct Record {
  /// The rua URIs in record order: "mailto:a@b" or "https://host/path" (other schemes are refused,
  /// RFC 8460 3 names only these two).
  std::vector<std::string> rua;
};

/// One TXT record's text (its character-strings joined). Errors say what is wrong:
/// "no v=TLSRPTv1 at the start", "rua missing", "rua \"ftp://x\" is neither mailto: nor https:".
Result<Record> parse_record(std::string_view text);

/// The domain's record among all its TXT answers: those not starting with "v=TLSRPTv1" are other
/// records and ignored; none left or more than one is an error (RFC 8460 3: then no report).
Result<Record> select_record(const std::vector<std::string>& txt);

/// "_smtp._tls.example.org" for "example.org".
std::string record_name(std::string_view domain);

}  // namespace sluice::tlsrpt
