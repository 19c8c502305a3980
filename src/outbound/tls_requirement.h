// What TLS one delivery session must achieve, decided before it starts from the policy sources in
// order (docs/outbound.md, "TLS policy"): the send connector's policy table, DANE, MTA-STS, the
// connector's own `tls`. The SMTP client enforces it and writes it in the send protocol log; it
// never looks at the connector's `tls` itself.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "tls/tlsa.h"
#include "tls/version.h"

namespace sluice::outbound {

/// Ordered: each level asks more of the session than the one before.
enum class TlsLevel {
  None,     ///< never STARTTLS
  May,      ///< STARTTLS when offered, any certificate; plaintext otherwise (RFC 7435)
  Encrypt,  ///< STARTTLS must succeed, any certificate
  Verify,   ///< STARTTLS, certificate chain (WebPKI or ca_file) and a name in `match_names`
  Dane,     ///< STARTTLS, certificate matched by `tlsa` (RFC 7672); names per RFC 7672 3.2
};

/// Which source decided the requirement (the send log and `sluice queue show` name it).
enum class PolicySource { Connector, Table, Dane, MtaSts };

struct TlsRequirement {
  TlsLevel level = TlsLevel::May;
  PolicySource source = PolicySource::Connector;
  /// The domain the policy is about: the recipient domain for MX routing, the smart host otherwise
  /// (MTA-STS and TLS-RPT key on it).
  std::string policy_domain;
  /// Human text of the decision for the log, e.g. "policy table entry *.example.org: verify".
  std::string decided_by;
  /// Verify: names the certificate must carry (empty: the target host). Dane: the reference
  /// identifiers of RFC 7672 3.2.2 (the MX host name, then the domain).
  std::vector<std::string> match_names;
  std::vector<tls::TlsaRecord> tlsa;        ///< Dane: the usable DANE-TA/DANE-EE records of the host
  std::optional<tls::Version> min_version;  ///< raises the connector's tls_policy.min_version
  /// MTA-STS `mode: testing`: a failed check is logged and reported (TLS-RPT), and the session
  /// goes on as May.
  bool testing = false;
  /// May only: a failed handshake may be retried in plaintext (the connector's fallback_to_plaintext;
  /// never when a policy source other than the connector decided).
  bool fallback_to_plaintext = false;

  /// The certificate is authenticated (Verify or Dane, not testing): what REQUIRETLS needs.
  bool authenticated() const { return (level == TlsLevel::Verify || level == TlsLevel::Dane) && !testing; }
};

std::string_view tls_level_name(TlsLevel level);      ///< "none", "may", "encrypt", "verify", "dane"
std::string_view policy_source_name(PolicySource s);  ///< "connector", "table", "dane", "mta-sts"

}  // namespace sluice::outbound
