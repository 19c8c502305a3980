// Fetching a domain's MTA-STS policy (RFC 8461 3.3): HTTPS GET of
// https://mta-sts.<domain>/.well-known/mta-sts.txt, the host's certificate checked against the
// WebPKI (or a configured CA file), connected to the address the gateway's own resolver gives.
#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "base/result.h"
#include "net/dns.h"
#include "net/https_fetch.h"

namespace sluice::mta_sts {

/// RFC 8460 4.3 result types of a policy that could not be had.
inline constexpr std::string_view kFetchError = "sts-policy-fetch-error";
inline constexpr std::string_view kPolicyInvalid = "sts-policy-invalid";
inline constexpr std::string_view kWebPkiInvalid = "sts-webpki-invalid";

struct FetchFailure {
  std::string failure_type;  ///< one of the three above
  std::string message;       ///< "https://mta-sts.example.org/.well-known/mta-sts.txt: answered HTTP 404"
};

/// Gives the text of `domain`'s policy file, or why not. Blocking; thread-safe.
using PolicyFetcher = std::function<Result<std::string, FetchFailure>(const std::string& domain)>;

struct FetchSettings {
  std::filesystem::path ca_file;  ///< trust for the policy hosts; empty: the system store
  std::uint16_t port = 443;       ///< 443 but in tests (config [mta_sts] https_port)
  /// RFC 8461 3.3 suggests a minute at most for the whole fetch.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds total_timeout{std::chrono::seconds(30)};
};

/// "https://mta-sts.<domain>/.well-known/mta-sts.txt" (":<port>" after the host unless 443).
std::string policy_url(const std::string& domain, std::uint16_t port = 443);

/// The policy text of an answer: only a 200 with Content-Type text/plain is one (RFC 8461 3.3),
/// so a redirect (3xx) is a failure like any other status.
Result<std::string, FetchFailure> policy_text_of(const net::HttpsResponse& response, const std::string& url);

/// The real fetcher: `dns.addresses("mta-sts.<domain>")`, then net::https_request to those
/// addresses with the name mta-sts.<domain> (SNI, certificate, Host). `dns` must outlive it.
PolicyFetcher https_policy_fetcher(const net::MailLookups& dns, FetchSettings settings);

}  // namespace sluice::mta_sts
