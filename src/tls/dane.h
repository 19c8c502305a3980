// DANE for SMTP (RFC 7672) on a client SSL through OpenSSL's DANE API: which TLSA records are
// usable, setting them on a connection, and after the handshake which record matched or why none
// did (docs/outbound.md, "DANE").
#pragma once
#include <openssl/ssl.h>

#include <string>
#include <vector>

#include "base/result.h"
#include "tls/tlsa.h"

namespace sluice::tls {

/// Why a TLSA record is unusable for SMTP, or empty when it is usable: RFC 7672 2.2 and 3.1 take
/// DANE-TA(2) and DANE-EE(3) with selector 0 or 1 and matching type 0, 1 (32 bytes) or 2 (64 bytes);
/// the PKIX usages 0 and 1 are ignored.
std::string tlsa_unusable_reason(const TlsaRecord& record);

/// The usable records of an RRset, in order. Records present but none usable means encrypted but
/// unauthenticated delivery (RFC 7672 2.2).
std::vector<TlsaRecord> usable_tlsa(const std::vector<TlsaRecord>& records);

/// "3 1 1 ab12cd34ef56..." (the data abbreviated to 12 hex digits) for logs and errors.
std::string tlsa_text(const TlsaRecord& record);
/// The association data in lower-case hex, whole.
std::string tlsa_data_hex(const TlsaRecord& record);
/// RFC 6698 2.2 presentation format, whole: "3 1 1 0123abcd..." (TLS-RPT's policy-string).
std::string tlsa_presentation(const TlsaRecord& record);

/// Enables DANE on a client context (idempotent). Fails naming what OpenSSL refused.
Result<void> enable_dane(SSL_CTX* ctx);

/// Sets up DANE on one client connection before its handshake: `names[0]` is the TLSA base domain
/// (the MX host name, also sent as SNI), the rest further reference identifiers for DANE-TA
/// certificates (RFC 7672 3.2.2); DANE-EE(3) ignores names and validity dates (RFC 7672 3.1.1);
/// the peer is verified, so a certificate no record matches fails the handshake. Only usable
/// records are added; with none it fails (the caller must not have asked for DANE).
Result<void> set_dane_peer(SSL* ssl, const std::vector<std::string>& names, const std::vector<TlsaRecord>& tlsa);

/// After a successful handshake: "certificate matched TLSA 3 1 1 ab12... of mx.example.org (depth 0)".
/// Fails when no record matched (cannot happen after a verified DANE handshake, but it is checked).
Result<std::string> dane_match(SSL* ssl, const std::string& host);

/// After a failed handshake: "TLSA mismatch: no TLSA record of mx.example.org matches its
/// certificate chain (3 1 1 ab12...)", or the verification error that stopped a DANE-TA chain.
std::string dane_failure(SSL* ssl, const std::string& host, const std::vector<TlsaRecord>& tlsa);

}  // namespace sluice::tls
