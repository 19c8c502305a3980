// What a built OpenSSL context will actually do, asked of OpenSSL rather than derived from the
// policy that built it: `sluice check` prints it, and a reload logs the certificates it serves.
// The two can differ: a security level or a cipher list can leave a configured version with no
// usable suite.
#pragma once
#include <openssl/ssl.h>

#include <string>
#include <vector>

namespace sluice::tls {

struct ContextFacts {
  /// "1.2", "1.3": versions inside the context's range with at least one suite OpenSSL would use.
  std::vector<std::string> versions;
  /// OpenSSL names for TLS 1.2 and below, in preference order (TLS 1.2's, then any only older versions use)
  std::vector<std::string> tls12_ciphers;
  std::vector<std::string> tls13_suites;  ///< TLS 1.3 ciphersuites, in preference order
};
ContextFacts context_facts(SSL_CTX* ctx);

/// One certificate a context serves: "SHA256 AB:CD:..." fingerprints identify it in logs and
/// match what `openssl x509 -fingerprint -sha256` and clients show.
struct ServedCertificate {
  std::string subject;             ///< "/CN=mx.example.org"
  std::string sha256_fingerprint;  ///< upper-case hex, colon-separated
  std::string not_after;           ///< "2027-03-01T12:00:00Z"
};
/// Every certificate loaded into `ctx` (an ECDSA and an RSA one when both are configured).
std::vector<ServedCertificate> served_certificates(SSL_CTX* ctx);

}  // namespace sluice::tls
