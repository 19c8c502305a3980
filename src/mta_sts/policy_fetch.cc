#include "mta_sts/policy_fetch.h"

#include <fmt/format.h>

#include "base/text.h"
#include "mta_sts/policy_file.h"

namespace sluice::mta_sts {
namespace {

FetchFailure fetch_failure(std::string_view type, std::string message) {
  return FetchFailure{std::string(type), std::move(message)};
}

// "text/plain", "text/plain; charset=utf-8", "Text/Plain ;charset=UTF-8": media types are
// case-insensitive and may carry parameters.
bool is_text_plain(std::string_view content_type) {
  const auto semicolon = content_type.find(';');
  std::string_view type = content_type.substr(0, semicolon);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  return ascii_lower(type) == "text/plain";
}

std::string_view failure_type_of(net::HttpsFailure::Kind kind) {
  switch (kind) {
    case net::HttpsFailure::Kind::Certificate:
      return kWebPkiInvalid;
    case net::HttpsFailure::Kind::TooLarge:
      return kPolicyInvalid;
    default:
      return kFetchError;
  }
}

}  // namespace

std::string policy_url(const std::string& domain, std::uint16_t port) {
  const std::string host = "mta-sts." + domain;
  if (port == 443) return fmt::format("https://{}/.well-known/mta-sts.txt", host);
  return fmt::format("https://{}:{}/.well-known/mta-sts.txt", host, port);
}

Result<std::string, FetchFailure> policy_text_of(const net::HttpsResponse& response, const std::string& url) {
  if (response.status != 200) {
    const bool redirect = response.status >= 300 && response.status < 400;
    return fail(fetch_failure(kFetchError, fmt::format("{}: answered HTTP {}{}", url, response.status,
                                                       redirect ? " (a redirect, which RFC 8461 3.3 forbids)" : "")));
  }
  if (!is_text_plain(response.content_type))
    return fail(fetch_failure(
        kPolicyInvalid, fmt::format("{}: Content-Type is \"{}\", not text/plain", url,
                                    response.content_type.substr(0, 100))));  // curl keeps only printable header bytes
  return response.body;
}

PolicyFetcher https_policy_fetcher(const net::MailLookups& dns, FetchSettings settings) {
  return [&dns, settings](const std::string& domain) -> Result<std::string, FetchFailure> {
    const std::string url = policy_url(domain, settings.port);
    const std::string host = "mta-sts." + domain;
    net::DnsAnswer addresses = dns.addresses(host);
    if (addresses.status != net::DnsAnswer::Status::Ok)
      return fail(fetch_failure(kFetchError, fmt::format("{}: no address for {}: {}", url, host,
                                                         addresses.error.empty() ? "no A/AAAA" : addresses.error)));
    net::HttpsRequest request;
    request.url = url;
    request.ca_file = settings.ca_file;
    request.connect_timeout = settings.connect_timeout;
    request.total_timeout = settings.total_timeout;
    request.max_body = kMaxPolicySize;
    request.addresses = std::move(addresses.addresses);
    auto response = net::https_request(request);
    if (!response)
      return fail(
          fetch_failure(failure_type_of(response.error().kind), fmt::format("{}: {}", url, response.error().message)));
    return policy_text_of(*response, url);
  };
}

}  // namespace sluice::mta_sts
