#include "outbound/dane_policy.h"

#include <fmt/core.h>

#include "tls/dane.h"

namespace sluice::outbound {

std::string tlsa_name(const std::string& mx_host, std::uint16_t port) {
  std::string host = mx_host;
  if (!host.empty() && host.back() == '.') host.pop_back();
  return fmt::format("_{}._tcp.{}", port, host);
}

Result<std::optional<TlsRequirement>, smtp::Reply> dane_requirement(const std::string& mx_host, bool mx_secure,
                                                                    std::uint16_t port, const std::string& domain,
                                                                    const net::MailLookups& dns) {
  using Status = net::DnsAnswer::Status;
  // An address literal has no TLSA records, and an insecure MX name could be an attacker's.
  if (!mx_secure || mx_host.empty() || mx_host.front() == '[') return std::optional<TlsRequirement>{};
  const std::string name = tlsa_name(mx_host, port);
  net::DnsRecords answer = dns.tlsa(name);
  switch (answer.status) {
    case Status::Ok:
      break;
    case Status::NoData:
    case Status::NxDomain:
    case Status::NullMx:
      return std::optional<TlsRequirement>{};
    case Status::TempFail:
      // RFC 7672 2.2: with a secure MX, a failed TLSA lookup must not become plaintext or
      // unauthenticated TLS: the records may exist and the failure be an attacker's doing.
      return fail(smtp::make_reply(451, "4.7.5",
                                   fmt::format("TLSA lookup for {} failed (DNSSEC validation failed or DNS error): {}; "
                                               "the MX record of {} is DNSSEC-signed, so delivery waits for DANE",
                                               name, answer.error, domain)));
  }
  if (!answer.secure) return std::optional<TlsRequirement>{};

  TlsRequirement requirement;
  requirement.source = PolicySource::Dane;
  requirement.policy_domain = domain;
  requirement.tlsa = tls::usable_tlsa(answer.tlsa);
  if (requirement.tlsa.empty()) {
    std::string reasons;
    for (const auto& r : answer.tlsa)
      reasons += fmt::format("{}{}: {}", reasons.empty() ? "" : "; ", tls::tlsa_text(r), tls::tlsa_unusable_reason(r));
    requirement.level = TlsLevel::Encrypt;
    requirement.decided_by = fmt::format(
        "DANE: DNSSEC-validated TLSA records for {} but none usable ({}): encrypted, unauthenticated (RFC 7672 2.2)",
        name, reasons);
    return std::optional<TlsRequirement>{std::move(requirement)};
  }
  requirement.level = TlsLevel::Dane;
  requirement.match_names = {mx_host, domain};
  requirement.decided_by = fmt::format("DANE: DNSSEC-validated TLSA records for {} ({} usable of {})", name,
                                       requirement.tlsa.size(), answer.tlsa.size());
  return std::optional<TlsRequirement>{std::move(requirement)};
}

}  // namespace sluice::outbound
