// The demo's stand-in for the Microsoft identity platform's token endpoint: HTTPS on loopback
// with the demo's own certificate (sluice trusts it through `ca_file`), the OAuth 2.0 client
// credentials grant (RFC 6749 4.4) for one app registration, Entra's error answers otherwise. It
// records what each request asked for, never the secret itself.
#pragma once
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>

#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "demo/http_request.h"
#include "tls/certificates.h"

namespace sluice::demo {

/// The one app registration the endpoint knows.
struct AppRegistration {
  std::string path;  ///< "/contoso.test/oauth2/v2.0/token"
  std::string client_id;
  std::string client_secret;
  int token_lifetime_seconds = 3599;
};

/// What a token request asked for, as the demo shows it: the secret only as whether it matched.
struct TokenRequestSeen {
  std::string grant_type, client_id, scope;
  bool secret_matched = false;
  int status = 0;  ///< the HTTP status answered
};

/// The answer to one request: 200 with `new_token` (Bearer, the registration's lifetime) for the
/// client credentials grant with the right client_id and client_secret; Entra's 4xx JSON error
/// otherwise. `seen` is filled in from the form.
HttpReply answer_token_request(const HttpRequest& request, const AppRegistration& app, const std::string& new_token,
                               TokenRequestSeen& seen);

/// The endpoint, listening on 127.0.0.1 (a port of its own) once constructed; served by `io`'s
/// thread. Thread-safe readers.
class TokenEndpoint {
 public:
  TokenEndpoint(asio::io_context& io, AppRegistration app, const tls::CertificateFiles& certificate);
  std::uint16_t port() const { return port_; }
  std::string url() const;
  std::vector<TokenRequestSeen> requests() const;
  /// Whether this endpoint issued `token` (the introspection endpoint asks).
  bool issued(const std::string& token) const;
  std::set<std::string> issued_tokens() const;

 private:
  asio::awaitable<void> serve(asio::ip::tcp::socket socket);

  AppRegistration app_;
  asio::ssl::context tls_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  mutable std::mutex mutex_;
  std::vector<TokenRequestSeen> requests_;
  std::set<std::string> issued_;
};

}  // namespace sluice::demo
