// The client side of the SASL mechanisms sluice authenticates with to a smart host (RFC 4954 SMTP
// AUTH): base64 as SMTP AUTH carries it, and the initial responses of PLAIN (RFC 4616) and XOAUTH2
// (Google's and Microsoft's format). What these return is a secret: never log it.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace sluice::smtp {

/// RFC 4648 base64 with padding, no line breaks.
std::string base64_encode(std::string_view data);
/// The decoded text; nullopt when `text` is not padded base64 (whitespace is not allowed).
std::optional<std::string> base64_decode(std::string_view text);

/// PLAIN's response, base64: "" NUL user NUL password (no authorization identity).
std::string plain_response(std::string_view user, std::string_view password);
/// XOAUTH2's response, base64: "user=" user ^A "auth=Bearer " token ^A ^A.
std::string xoauth2_response(std::string_view user, std::string_view token);

}  // namespace sluice::smtp
