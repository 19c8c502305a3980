// The cache in front of the client credentials grant: one token per send connector, shared by all
// of its deliveries, refreshed well before it expires, fetched once for all callers, and not
// asked for again and again while the endpoint fails (docs/outbound.md, "OAuth 2.0 tokens for
// XOAUTH2").
#pragma once
#include <chrono>

#include "outbound/access_token.h"
#include "outbound/client_credentials_grant.h"
#include "outbound/http_post.h"

namespace sluice::outbound {

/// A token is refreshed this long before it expires, or a quarter of its lifetime if that is
/// longer: always more than the 10 minutes within which Exchange Online's high-volume endpoint
/// refuses a token. Only a token that lives 30 minutes or less (Entra's live 60 to 90) is
/// refreshed at half its lifetime instead, the most any margin can leave.
inline constexpr std::chrono::seconds kMinimumRefreshMargin{15 * 60};
std::chrono::seconds refresh_margin(std::chrono::seconds lifetime);

/// A cached token with more than this left is still handed out while a refresh fails.
inline constexpr std::chrono::seconds kMinimumRemainingLifetime{10 * 60};

/// After a failed fetch no request is made for this long, doubling after each further failure up
/// to kMaxFetchBackoff; token() fails at once meanwhile ("... (next try in 40 s)").
inline constexpr std::chrono::seconds kFirstFetchBackoff{10};
inline constexpr std::chrono::seconds kMaxFetchBackoff{600};

/// make_oauth_token_source with the HTTP and the clock chosen (tests script both). token() and
/// rejected() must be called from one thread (the network thread): the cache has no lock.
Result<std::unique_ptr<AccessTokenSource>> make_oauth_token_source(const config::SendAuth& auth,
                                                                   asio::any_io_executor blocking, HttpPost post,
                                                                   SystemClock clock);

}  // namespace sluice::outbound
