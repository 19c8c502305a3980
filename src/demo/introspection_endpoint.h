// The token introspection endpoint (RFC 7662) of the demo's "Exchange Online": Dovecot's oauth2
// passdb POSTs each bearer token it is given (introspection_mode = post, a form with `token`)
// and logs the user in as the `username` of an active answer. Plain HTTP on loopback.
#pragma once
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "demo/http_request.h"

namespace sluice::demo {

/// Who an access token was issued for; nullopt for a token that is not (or no longer) valid.
using TokenOwner = std::function<std::optional<std::string>(const std::string& token)>;

/// The answer to one introspection request: {"active":"true","username":...} for a token
/// `owner_of` knows, {"active":"false"} for any other; 400 for a request without a token form.
/// `token` gets the token asked about ("" if none).
HttpReply answer_introspection(const HttpRequest& request, const TokenOwner& owner_of, std::string& token);

/// The endpoint, listening on 127.0.0.1 (a port of its own) once constructed; served by `io`'s thread.
class IntrospectionEndpoint {
 public:
  IntrospectionEndpoint(asio::io_context& io, TokenOwner owner_of);
  std::string url() const;
  /// How many introspection requests found their token active.
  int active_answers() const;

 private:
  asio::awaitable<void> serve(asio::ip::tcp::socket socket);

  TokenOwner owner_of_;
  asio::ip::tcp::acceptor acceptor_;
  mutable std::mutex mutex_;
  int active_answers_ = 0;
};

}  // namespace sluice::demo
