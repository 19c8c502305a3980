// One HTTPS request with libcurl, the only HTTP the gateway makes: OAuth 2.0 token requests
// (outbound/http_post.h), MTA-STS policy fetches (mta_sts/policy_fetch.h). HTTPS only, the
// peer's certificate and name always verified, redirects never followed.
#pragma once
#include <asio/ip/address.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace sluice::net {

struct HttpsRequest {
  std::string url;  ///< https://host[:port]/path
  /// POST this body with this Content-Type when set; otherwise a GET.
  std::optional<std::string> post_body;
  std::string post_content_type;
  std::filesystem::path ca_file;  ///< trust these CAs; empty: the system store
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds total_timeout{std::chrono::seconds(30)};
  std::size_t max_body = 1 << 20;  ///< a longer answer is a failure (TooLarge)
  /// Connect to these addresses instead of asking the system's resolver for the URL's host,
  /// which still names the certificate to expect and the Host header (CURLOPT_RESOLVE).
  std::vector<asio::ip::address> addresses;
};

struct HttpsResponse {
  long status = 0;           ///< the HTTP status code, whatever it is (3xx, 4xx and 5xx are answers too)
  std::string content_type;  ///< as the server sent it, "" when it sent none
  std::string body;
};

struct HttpsFailure {
  enum class Kind { Resolve, Connect, Timeout, Certificate, Tls, TooLarge, NotHttps, Other };
  Kind kind = Kind::Other;
  /// What happened, curl's words after ours: "could not connect: Failed to connect to 127.0.0.1
  /// port 8443 after 0 ms: Connection refused". Never contains the request body.
  std::string message;
};

/// Blocking (run it on a worker thread); thread-safe.
Result<HttpsResponse, HttpsFailure> https_request(const HttpsRequest& request);

}  // namespace sluice::net
