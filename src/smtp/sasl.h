// The client side of the SASL mechanisms sluice authenticates with to a smart host (RFC 4954 SMTP
// AUTH): the initial responses of PLAIN (RFC 4616) and XOAUTH2
// (Google's and Microsoft's format). What these return is a secret: never log it.
#pragma once
#include <string>
#include <string_view>

#include "base/base64.h"

namespace sluice::smtp {

/// PLAIN's response, base64: "" NUL user NUL password (no authorization identity).
std::string plain_response(std::string_view user, std::string_view password);
/// XOAUTH2's response, base64: "user=" user ^A "auth=Bearer " token ^A ^A.
std::string xoauth2_response(std::string_view user, std::string_view token);

}  // namespace sluice::smtp
