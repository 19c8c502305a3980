// What an administrator needs to know about the certificates a server presents: names, dates,
// keys, signatures, and whether the chain is trusted and fits the host name.
#pragma once
#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "probe/attempt.h"

namespace sluice::probe {

struct CertificateFacts {
  std::string subject;  ///< OpenSSL one-line form, "/CN=mx.example.org"
  std::string issuer;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  std::string not_before;  ///< "2026-11-27T07:21:05Z"
  std::string not_after;
  long days_left = 0;    ///< negative once expired
  std::string key_type;  ///< "RSA", "EC", "Ed25519", ...
  int key_bits = 0;
  std::string curve;                ///< "prime256v1" for EC keys
  std::string signature_algorithm;  ///< "sha256WithRSAEncryption", "ecdsa-with-SHA256"
  bool sha1_signed = false;
  bool self_signed = false;
  std::string sha256_fingerprint;  ///< upper-case hex, colon separated
};

struct ChainFacts {
  std::vector<CertificateFacts> certificates;  ///< as sent, leaf first
  bool trusted = false;
  std::string trust_error;    ///< OpenSSL's verification error when not trusted
  std::string expected_name;  ///< the host name (or IP) checked
  bool name_matches = false;
  /// A certificate other than a self-signed root is signed with SHA-1 (Exchange Online refuses them).
  bool has_sha1_signature = false;
  /// The chain's certificates in DER, as sent: what TLSA records are matched against.
  std::vector<std::string> der;
};

/// A trust store: the system's (OpenSSL's default paths) or, when `ca_file` is set, only that
/// PEM file. Throws std::runtime_error naming the file when it cannot be read.
std::shared_ptr<X509_STORE> make_trust_store(const std::string& ca_file);

/// The DER encoding of a certificate (empty if it cannot be encoded).
std::string certificate_der(X509* cert);

/// Facts about one certificate at time `now`.
CertificateFacts describe_certificate(X509* cert, std::chrono::system_clock::time_point now);

/// Facts about a chain as the server sent it, verified against `trust` at `now`.
ChainFacts analyse_chain(const std::vector<CertificatePtr>& chain, const std::string& expected_name, X509_STORE* trust,
                         std::chrono::system_clock::time_point now);

}  // namespace sluice::probe
