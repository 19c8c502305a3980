// Client certificates, both ways: the one a send connector presents to its smart host (an
// Exchange Online inbound connector configured by certificate), and the ones a receive connector
// with require_client_certificate asks for, verifies and matches against allowed names.
#pragma once
#include <openssl/ssl.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::tls {

/// True when a name from a certificate matches an allowed `pattern`: equal ignoring case (and a
/// final dot), or, for "*.example.org", exactly one more label in front ("a.example.org", not
/// "example.org" or "a.b.example.org"). The wildcard is read on the pattern side only: a
/// certificate name "*.example.org" matches the pattern "*.example.org" and nothing narrower.
bool certificate_name_matches(std::string_view pattern, std::string_view name);

/// The subjectAltName dNSName entries of `cert`, in order.
std::vector<std::string> certificate_dns_names(X509* cert);
/// The names a certificate is matched by: its SAN DNS names, or, when it has none, the subject's
/// common name (RFC 6125 6.4.4: the CN is only a fallback).
std::vector<std::string> certificate_identities(X509* cert);

/// Makes a client context note when a server asks for a certificate (server_requested_certificate).
void record_certificate_requests(SSL_CTX* ctx);
/// True when the server asked this client connection for a certificate (CertificateRequest);
/// false on contexts without record_certificate_requests().
bool server_requested_certificate(SSL* ssl);

/// Makes a server context ask every client for a certificate, naming the CAs of `ca_file` in the
/// request and verifying chains against them. The handshake goes on whatever the client sends
/// (none, untrusted, expired): the session decides after it, with check_client_certificate(), so
/// the refusal is an SMTP reply the client can read instead of a TLS alert. Throws
/// std::runtime_error "client_ca_file <file>: ..." when the file holds no usable certificate.
void request_client_certificates(SSL_CTX* ctx, const std::filesystem::path& ca_file);

/// What a client presented and whether it is acceptable.
struct ClientCertificateCheck {
  bool accepted = false;
  bool presented = false;
  std::string reason;                  ///< why not, for the reply and the log; empty when accepted
  std::string subject;                 ///< "/CN=..." of the presented certificate
  std::vector<std::string> dns_names;  ///< its SAN DNS names
};
/// After a handshake on a context set up by request_client_certificates(): refused when no
/// certificate was presented, its chain did not verify, or none of its names (SAN DNS, else CN)
/// matches one of `allowed_names`.
ClientCertificateCheck check_client_certificate(SSL* ssl, const std::vector<std::string>& allowed_names);

}  // namespace sluice::tls
