// What the delivery side tells TLS-RPT (RFC 8460): each SMTP session's TLS outcome under the
// policy it was held to (target.tls), as a tlsrpt::Session for the collector.
#pragma once
#include <chrono>
#include <optional>

#include "outbound/destination_policy.h"
#include "outbound/smtp_client.h"
#include "tlsrpt/collector.h"

namespace sluice::outbound {

inline constexpr const char* kStarttlsNotSupported = "starttls-not-supported";
inline constexpr const char* kValidationFailure = "validation-failure";

/// The RFC 8460 4.3 result type of a certificate rejected with OpenSSL's X509_V_ERR_* `error`:
/// host mismatch, expired, untrusted (unknown issuer, self-signed), else validation-failure.
std::string tls_result_type_of(long x509_error);

/// The RFC 8460 4.3 policy of a session's requirement: DANE -> tlsa (its TLSA records as
/// policy-string), MTA-STS -> sts, anything else -> no-policy-found; the domain is the
/// requirement's policy_domain (else the target host).
tlsrpt::Policy tls_report_policy(const Target& target);

/// The session as TLS-RPT counts it; nullopt when it says nothing about TLS: no TLS was
/// attempted and none was required (a plaintext session under `none` or an opportunistic
/// session to a server without STARTTLS), or no connection was made.
std::optional<tlsrpt::Session> tls_report_session(const Target& target, const AttemptResult& result,
                                                  std::chrono::system_clock::time_point now);

/// Counts a failure found before any session (a TLSA lookup that failed, dane-only without
/// records, an MTA-STS policy that could not be fetched) in `collector` (nothing when null).
void count_policy_failure(tlsrpt::Collector* collector, const PolicyFailure& failure);

/// Counts the session in `collector` (nothing when null: reporting is off, or the session
/// carries a report itself).
void count_tls_session(tlsrpt::Collector* collector, const Target& target, const AttemptResult& result);

}  // namespace sluice::outbound
