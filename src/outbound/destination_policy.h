// Which TLS each session of a delivery must achieve (docs/outbound.md, "TLS policy"). The order of
// the sources: the send connector's policy table (most specific entry), else its `tls`; a mode of
// dane or dane-only asks DNSSEC for TLSA records (RFC 7672), a mode of mta-sts (or dane where DANE
// does not apply) asks for the domain's MTA-STS policy (RFC 8461 2: DANE first). Blocking (DNS and
// HTTPS): it runs on the engine's DNS threads.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/config.h"
#include "mta_sts/policy.h"
#include "net/dns.h"
#include "outbound/route.h"
#include "outbound/tls_requirement.h"
#include "smtp/reply.h"

namespace sluice::outbound {

/// DANE for one host: nullopt when DANE does not apply (insecure MX or TLSA answer, no records);
/// an error when a secure lookup failed (the host must not be used: RFC 7672 2.2). Its lookups go
/// through `dns`, the delivery's own, which answers each host's addresses once.
using DaneLookup = std::function<Result<std::optional<TlsRequirement>, smtp::Reply>(
    const std::string& host, bool mx_secure, std::uint16_t port, const std::string& domain,
    const net::MailLookups& dns)>;

/// A failure found while deciding the policy, before any session (RFC 8460 4.3.2), for TLS-RPT.
struct PolicyFailure {
  TlsRequirement policy;    ///< the policy as far as it was decided: its source and domain
  std::string host;         ///< the MX host concerned; empty when the whole domain is
  std::string result_type;  ///< "dnssec-invalid", "dane-required", "sts-policy-fetch-error", ...
  std::string detail;
};

struct PolicyLookups {
  const net::MailLookups* dns = nullptr;
  mta_sts::PolicySource* mta_sts = nullptr;  ///< null: no MTA-STS (a mode asking for it is opportunistic)
  DaneLookup dane;                           ///< empty: no DANE (dane-only defers)
  /// Hears of each PolicyFailure (TLS-RPT counts them); may be empty. Called on the calling thread.
  std::function<void(const PolicyFailure&)> on_failure;
};

/// The mode that applies to `policy_domain` and what decided it: the most specific table entry
/// ("example.org" before "*.example.org" before "*.org"), else the connector's `tls`.
struct DestinationMode {
  config::OutboundTls mode = config::OutboundTls::Opportunistic;
  const config::TlsDestination* entry = nullptr;  ///< the table entry, or null for the connector's own
  std::string decided_by;                         ///< "policy table entry *.example.org" / "connector Internet"
};
DestinationMode destination_mode(const config::SendConnector& connector, const std::string& policy_domain);

/// The requirement of the connector's own `tls` for `host` alone, for sessions no other source
/// governs (recipient verification callouts); dane and mta-sts modes then mean opportunistic.
TlsRequirement connector_requirement(const config::SendConnector& connector, const std::string& host);

/// The targets of a delivery to `domain` with each one's requirement. Hosts a policy excludes (an
/// MX outside an enforced MTA-STS policy, a failed secure TLSA lookup, dane-only without usable
/// TLSA) are left out; when none is left the error says why for each (a deferral).
/// `ignore_recipient_policies`: the message has "TLS-Required: No" (RFC 8689 5): DANE and MTA-STS
/// are not applied (the table and the connector still are).
Result<std::vector<Target>, smtp::Reply> resolve_with_policy(const config::SendConnector& connector,
                                                             const std::string& domain, const PolicyLookups& lookups,
                                                             bool ignore_recipient_policies = false);

/// One line for the send log and the queue viewer: "verify (mta-sts: policy of example.org, mode
/// enforce, mx mail.example.org)".
std::string describe(const TlsRequirement& requirement);

}  // namespace sluice::outbound
