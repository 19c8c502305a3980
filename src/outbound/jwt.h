// The JSON Web Token piece the OAuth client needs (RFC 7515, 7519): reading the claims of a token
// the endpoint issued (for `sluice oauth-token`, which shows who the token is for without printing it).
#pragma once
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace sluice::outbound {

/// The decoded header and claims of a compact JWS "header.payload.signature"; nullopt when
/// `token` is not one (Entra's access tokens are; other endpoints' may be opaque strings).
/// The signature is not checked: this is for display only.
struct JwtParts {
  nlohmann::json header;
  nlohmann::json claims;
};
std::optional<JwtParts> decode_jwt(std::string_view token);

}  // namespace sluice::outbound
