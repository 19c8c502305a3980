#include "outbound/dane_policy.h"

#include <fmt/core.h>

#include "tls/dane.h"

namespace sluice::outbound {

std::string tlsa_name(const std::string& mx_host, std::uint16_t port) {
  std::string host = mx_host;
  if (!host.empty() && host.back() == '.') host.pop_back();
  return fmt::format("_{}._tcp.{}", port, host);
}

namespace {

/// The fully CNAME-expanded name of `mx_host` when the whole chain is DNSSEC-validated, else empty:
/// RFC 7672 2.2.2 lets only a secure expansion become the TLSA base domain, since an attacker
/// could otherwise point the alias at a name whose TLSA records they publish.
std::string secure_expansion(const std::string& mx_host, const net::MailLookups& dns) {
  net::DnsAnswer answer = dns.addresses(mx_host);
  // A failed address lookup leaves the original name: the connection cannot happen anyway, and
  // the error is reported where the addresses are needed.
  if (answer.status != net::DnsAnswer::Status::Ok || !answer.secure) return {};
  return answer.canonical_name;
}

smtp::Reply tlsa_lookup_failed(const std::string& name, const net::DnsRecords& answer, const std::string& domain) {
  // RFC 7672 2.2: with a secure MX, a failed TLSA lookup must not become plaintext or
  // unauthenticated TLS: the records may exist and the failure be an attacker's doing.
  return smtp::make_reply(451, "4.7.5",
                          fmt::format("TLSA lookup for {} failed (DNSSEC validation failed or DNS error): {}; "
                                      "the MX record of {} is DNSSEC-signed, so delivery waits for DANE",
                                      name, answer.error, domain));
}

}  // namespace

Result<std::optional<TlsRequirement>, smtp::Reply> dane_requirement(const std::string& mx_host, bool mx_secure,
                                                                    std::uint16_t port, const std::string& domain,
                                                                    const net::MailLookups& dns) {
  using Status = net::DnsAnswer::Status;
  // An address literal has no TLSA records, and an insecure MX name could be an attacker's.
  if (!mx_secure || mx_host.empty() || mx_host.front() == '[') return std::optional<TlsRequirement>{};
  std::string base = mx_host;  // the TLSA base domain (RFC 7672 2.2.2)
  std::string name = tlsa_name(mx_host, port);
  net::DnsRecords answer;
  const std::string expanded = secure_expansion(mx_host, dns);
  bool found = false;
  if (!expanded.empty()) {
    // The expanded name first; only where it has no records does the original name count.
    const std::string expanded_name = tlsa_name(expanded, port);
    answer = dns.tlsa(expanded_name);
    if (answer.status == Status::TempFail) return fail(tlsa_lookup_failed(expanded_name, answer, domain));
    if (answer.status == Status::Ok) {
      base = expanded;
      name = expanded_name;
      found = true;
    }
  }
  if (!found) answer = dns.tlsa(name);
  switch (answer.status) {
    case Status::Ok:
      break;
    case Status::NoData:
    case Status::NxDomain:
    case Status::NullMx:
      return std::optional<TlsRequirement>{};
    case Status::TempFail:
      return fail(tlsa_lookup_failed(name, answer, domain));
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
  // RFC 7672 3.2.2: the TLSA base domain first (also the SNI name), then the MX host name as
  // written when an alias was expanded, then the domain (its MX record was secure).
  requirement.match_names = {base};
  if (base != mx_host) requirement.match_names.push_back(mx_host);
  requirement.match_names.push_back(domain);
  requirement.decided_by = fmt::format("DANE: DNSSEC-validated TLSA records for {}{} ({} usable of {})", name,
                                       base != mx_host ? fmt::format(" (expanded from {})", mx_host) : "",
                                       requirement.tlsa.size(), answer.tlsa.size());
  return std::optional<TlsRequirement>{std::move(requirement)};
}

}  // namespace sluice::outbound
