// RFC 4648 base64, in the two forms sluice speaks: standard with padding (SMTP AUTH, RFC 4954) and
// base64url without padding (JSON Web Tokens, RFC 7515 2). One codec for both.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

/// Standard alphabet, padded with '=', no line breaks.
std::string base64_encode(std::string_view data);
/// Nullopt unless `text` is padded standard base64 (no whitespace, no url alphabet).
std::optional<std::string> base64_decode(std::string_view text);

/// The url alphabet ('-' and '_'), without padding.
std::string base64url_encode(std::string_view data);
/// Nullopt unless `text` is base64url; trailing padding is tolerated.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace sluice
