// The part of building an OpenSSL context that a TLS policy decides, shared by the receive side
// (server contexts) and the send side (client contexts).
#pragma once
#include <openssl/ssl.h>

#include <string>
#include <string_view>

#include "tls/policy.h"

namespace sluice::tls {

/// Security level (first: at the default level OpenSSL 3 refuses TLS 1.0/1.1 and SHA-1 signatures
/// whatever the version settings say), version range, TLS 1.2 ciphers and TLS 1.3 suites; no
/// renegotiation or compression; buffers released while idle (memory per connection matters for a
/// gateway). `key_prefix` names the configuration table in errors ("tls_policy."). Throws
/// std::runtime_error "<key>: <OpenSSL error>" for what OpenSSL refuses.
void apply_policy(SSL_CTX* ctx, const Policy& policy, std::string_view key_prefix = {});

/// Subject of a certificate in OpenSSL's one-line form ("/CN=mx.example.org/O=...").
std::string certificate_subject(X509* cert);
/// SHA-1 thumbprint in upper-case hex, as Exchange's "Certificate thumbprint" lines show it.
std::string certificate_thumbprint(X509* cert);
/// SHA-256 fingerprint in upper-case hex pairs separated by colons, as `openssl x509 -fingerprint
/// -sha256` shows it.
std::string certificate_sha256(X509* cert);
/// An ASN.1 time (a certificate's notAfter) as "2027-03-01T12:00:00Z"; "" when it cannot be read.
std::string iso_time(const ASN1_TIME* time);

}  // namespace sluice::tls
