// Whether DANE (RFC 7672) decides the TLS of a delivery to one MX host: from the DNSSEC status of
// the MX lookup and the host's TLSA records (docs/outbound.md, "DANE").
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"
#include "net/dns.h"
#include "outbound/tls_requirement.h"
#include "smtp/reply.h"

namespace sluice::outbound {

/// The TLSA owner name of an SMTP server: "_25._tcp.mx.example.org" (RFC 7672 2.2.3).
std::string tlsa_name(const std::string& mx_host, std::uint16_t port);

/// The DANE requirement for delivering `domain`'s mail to `mx_host`:`port`:
/// - MX not secure, TLSA not secure, or no TLSA records (NoData/NxDomain): std::nullopt, DANE does
///   not apply and the caller falls back to its next policy source;
/// - secure MX but the TLSA lookup failed (SERVFAIL from a validating resolver = bogus, timeout):
///   a 4.7.5 reply, the delivery is deferred (never plaintext: RFC 7672 2.2);
/// - secure usable records: level Dane with the records and the reference names {mx_host, domain};
/// - secure records none of which is usable: level Encrypt (RFC 7672 2.2), decided_by says why.
Result<std::optional<TlsRequirement>, smtp::Reply> dane_requirement(const std::string& mx_host, bool mx_secure,
                                                                    std::uint16_t port, const std::string& domain,
                                                                    const net::MailLookups& dns);

}  // namespace sluice::outbound
