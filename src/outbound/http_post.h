// One HTTPS POST of a form, the only HTTP the gateway makes (OAuth 2.0 token requests). Behind a
// function type so that the token client's tests script the endpoint without a network.
#pragma once
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace sluice::outbound {

struct HttpRequest {
  std::string url;
  /// Sent as application/x-www-form-urlencoded, in this order.
  std::vector<std::pair<std::string, std::string>> form;
  std::filesystem::path ca_file;  ///< trust these CAs; empty: the system store
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds total_timeout{30};
};

struct HttpResponse {
  long status = 0;  ///< the HTTP status code, whatever it is (4xx and 5xx are answers too)
  std::string body;
};

/// Blocking. A transport failure (no connection, TLS, timeout) is an error saying what happened:
/// "could not connect: Failed to connect to 127.0.0.1 port 8443: Connection refused". It never
/// contains the form's values.
using HttpPost = std::function<Result<HttpResponse>(const HttpRequest&)>;

/// The real one: net::https_request (libcurl, HTTPS only, the peer's certificate and name verified, no redirects).
Result<HttpResponse> curl_http_post(const HttpRequest& request);

}  // namespace sluice::outbound
