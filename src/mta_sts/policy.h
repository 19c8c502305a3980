// MTA-STS (RFC 8461): a domain's policy as a sender applies it, and where it comes from. The SMTP
// sending side asks a PolicySource for the policy of a recipient domain before each attempt.
#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::mta_sts {

enum class Mode { Enforce, Testing, None };

struct Policy {
  Mode mode = Mode::None;
  std::vector<std::string> mx;  ///< patterns as published: "mail.example.org", "*.example.net"
  std::chrono::seconds max_age{0};
  std::string id;    ///< the `id` of the _mta-sts TXT record this policy was fetched for
  std::string text;  ///< the policy as fetched, for TLS-RPT's policy-string

  /// RFC 8461 4.1: a pattern "*.example.net" matches one leftmost label; case-insensitive.
  bool matches(std::string_view mx_host) const;
};

/// The outcome of looking a domain's policy up.
struct Lookup {
  enum class Status {
    NoPolicy,  ///< no _mta-sts TXT record (and nothing cached): the domain has no MTA-STS
    Found,     ///< `policy` applies (fresh or from the cache)
    Failed,    ///< a TXT record exists but no valid policy could be fetched and none is cached
  };
  Status status = Status::NoPolicy;
  std::optional<Policy> policy;
  bool from_cache = false;
  std::string error;  ///< Failed (or a refresh that failed while the cache was used): what went wrong
  /// RFC 8460 result type of a failure: "sts-policy-fetch-error", "sts-policy-invalid",
  /// "sts-webpki-invalid"; empty when none.
  std::string failure_type;
};

/// Gives the MTA-STS policy of a domain. Blocking (DNS and HTTPS); thread-safe.
class PolicySource {
 public:
  virtual ~PolicySource() = default;
  virtual Lookup lookup(const std::string& domain) = 0;
};

}  // namespace sluice::mta_sts
