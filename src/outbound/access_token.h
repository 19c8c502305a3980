// OAuth 2.0 access tokens for SMTP AUTH XOAUTH2 (Exchange Online's client submission after Basic
// authentication is switched off). The SMTP client asks a source for a token per session; the
// source keeps one token for all deliveries of a connector, refreshed before it expires.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "base/result.h"
#include "config/config.h"

namespace sluice::outbound {

struct AccessToken {
  std::string value;  ///< a secret: never logged, never in a queue file or an error message
  std::chrono::system_clock::time_point expires_at;
};

class AccessTokenSource {
 public:
  virtual ~AccessTokenSource() = default;
  /// A token that stays valid long enough to be used (refreshed well before expiry; one fetch at
  /// a time for all callers, with backoff after failures). The error is what the administrator
  /// must fix, e.g. the endpoint's "invalid_client: AADSTS7000215: Invalid client secret ...".
  virtual asio::awaitable<Result<AccessToken>> token() = 0;
  /// The server refused `token_value` (535/534 after AUTH XOAUTH2): forget it, so that the next
  /// token() fetches a new one.
  virtual void rejected(const std::string& token_value) = 0;
};

/// The client credentials grant of `auth` (mechanism XOAuth2) against its token endpoint, its
/// HTTP requests run on `blocking` (never the network thread). Fails when the client secret or
/// certificate cannot be read (the message names the file).
Result<std::unique_ptr<AccessTokenSource>> make_oauth_token_source(const config::SendAuth& auth,
                                                                   asio::any_io_executor blocking);

}  // namespace sluice::outbound
