// The OAuth 2.0 client credentials grant (RFC 6749 section 4.4) as the Microsoft identity
// platform v2.0 takes it: one blocking token request, its answer read into a token or into an
// error that says what to fix. The caching, single flight and backoff are OAuthTokenSource's.
#pragma once
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/config.h"
#include "outbound/access_token.h"
#include "outbound/client_assertion.h"
#include "outbound/http_post.h"

namespace sluice::outbound {

using SystemClock = std::function<std::chrono::system_clock::time_point()>;

struct TokenGrant {
  AccessToken token;
  std::string token_type;           ///< as the endpoint wrote it ("Bearer")
  std::chrono::seconds lifetime{};  ///< expires_in
};

/// `auth.token_endpoint`, else Microsoft's endpoint for `auth.tenant`.
std::string token_endpoint_of(const config::SendAuth& auth);

/// Reads a token endpoint's answer (RFC 6749 sections 5.1 and 5.2). Errors, without the
/// endpoint's name: "invalid_client: AADSTS7000215: Invalid client secret provided. ...",
/// "answered HTTP 500 without a JSON error", "answered HTTP 200 with malformed JSON",
/// "answered without an access_token". `now` + expires_in is the token's expiry. The endpoint's
/// own text has each of `credentials` masked (mask_credentials) before it is cut to length, so
/// that no part of one survives the cut.
Result<TokenGrant> parse_token_response(const HttpResponse& response, std::chrono::system_clock::time_point now,
                                        const std::vector<std::string>& credentials = {});

/// `text` with each of `credentials` replaced by "****": as it was sent, and percent-encoded as
/// a form carries it (either case of hex digits), for an endpoint that quotes the request body.
std::string mask_credentials(std::string text, const std::vector<std::string>& credentials);

class ClientCredentialsGrant {
 public:
  /// Checks `auth` and reads its credential now: the client secret's first line, or the client
  /// certificate and key. Fails naming the setting or the file to fix.
  static Result<ClientCredentialsGrant> create(const config::SendAuth& auth, HttpPost post, SystemClock clock);

  /// One token request (blocking: run it off the network thread). Errors start with
  /// "token endpoint <url>: " and never contain the secret, the assertion or a token.
  Result<TokenGrant> fetch() const;

  const std::string& endpoint() const { return endpoint_; }
  const std::string& scope() const { return scope_; }
  std::chrono::system_clock::time_point now() const { return clock_(); }

 private:
  ClientCredentialsGrant() = default;
  Result<HttpRequest> request() const;
  /// The values of the request's client_secret or client_assertion.
  static std::vector<std::string> credentials_of(const HttpRequest& request);

  std::string endpoint_, client_id_, scope_, client_secret_;
  std::optional<ClientCertificate> certificate_;
  std::filesystem::path ca_file_;
  HttpPost post_;
  SystemClock clock_;
};

}  // namespace sluice::outbound
