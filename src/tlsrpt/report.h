// The TLS-RPT report of RFC 8460 4.4 as data, and its JSON both ways: the gateway writes it (to
// report the sessions it counted, and to keep a period's counts in the state directory) and
// `sluice tlsrpt` reads the ones other senders mail to us.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace sluice::tlsrpt {

/// RFC 8460 4.3 policy types.
inline constexpr std::string_view kPolicySts = "sts";
inline constexpr std::string_view kPolicyTlsa = "tlsa";
inline constexpr std::string_view kNoPolicyFound = "no-policy-found";

/// The result types of RFC 8460 4.3 (a report may carry others: readers keep them as text).
inline constexpr std::string_view kResultTypes[] = {"starttls-not-supported", "certificate-host-mismatch",
                                                    "certificate-expired",    "certificate-not-trusted",
                                                    "validation-failure",     "tlsa-invalid",
                                                    "dnssec-invalid",         "dane-required",
                                                    "sts-policy-fetch-error", "sts-policy-invalid",
                                                    "sts-webpki-invalid"};
bool is_result_type(std::string_view text);

/// Which policy a session was under: the key that counts are kept by.
struct Policy {
  std::string type = std::string(kNoPolicyFound);  ///< kPolicySts, kPolicyTlsa, kNoPolicyFound
  std::vector<std::string> strings;                ///< policy-string: the STS policy's lines, the TLSA records
  std::string domain;                              ///< policy-domain
  std::vector<std::string> mx_hosts;               ///< mx-host: the STS policy's mx patterns

  auto operator<=>(const Policy&) const = default;
};

/// One failure-details entry: sessions that failed the same way with the same peer.
struct FailureDetail {
  std::string result_type;
  std::string sending_mta_ip;
  std::string receiving_mx_hostname;
  std::string receiving_mx_helo;
  std::string receiving_ip;
  std::uint64_t failed_session_count = 0;
  std::string additional_information;
  std::string failure_reason_code;

  /// Equal apart from the count: the same entry.
  bool same_kind(const FailureDetail& o) const;
};

struct PolicyResult {
  Policy policy;
  std::uint64_t successful = 0;  ///< summary.total-successful-session-count
  std::uint64_t failed = 0;      ///< summary.total-failure-session-count
  std::vector<FailureDetail> failures;
};

struct Report {
  std::string organization_name;
  std::chrono::system_clock::time_point start, end;  ///< date-range, UTC
  std::string contact_info;
  std::string report_id;
  std::vector<PolicyResult> policies;
};

nlohmann::json report_to_json(const Report& report);
/// Every RFC 8460 4.4 field checked for presence and type; an error names the field:
/// "policies[0].summary.total-failure-session-count: missing". Unknown fields are ignored.
Result<Report> report_from_json(const nlohmann::json& json);

/// The policies array alone (a period's counts in the state directory are one).
nlohmann::json policies_to_json(const std::vector<PolicyResult>& policies);
Result<std::vector<PolicyResult>> policies_from_json(const nlohmann::json& json);

/// "2026-12-08T00:00:00Z" (RFC 3339, what date-range holds), and back (nullopt for anything else).
std::string rfc3339(std::chrono::system_clock::time_point time);
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

}  // namespace sluice::tlsrpt
