// An OpenSSL client context for a send connector's TLS mode and policy.
#pragma once
#include <asio/ssl/context.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tls/policy.h"

namespace sluice::tls {

/// Versions, suites and security level from `policy` (a send connector's tls_policy); with
/// `verify_peer`, peer verification against `ca_file`, or the system trust store when it is empty
/// (ca_file is unused without verify_peer); with policy.certificate and policy.key, the client
/// certificate presented when a server asks for one. The caller sets SNI and the expected host name
/// per connection (set_client_peer). Throws std::runtime_error naming what OpenSSL refused
/// ("tls_policy.ciphers ...", "ca_file ...", "key <file> does not match certificate <file>").
std::shared_ptr<asio::ssl::context> make_client_context(const Policy& policy, bool verify_peer,
                                                        const std::filesystem::path& ca_file = {});

/// Per-connection settings on a client SSL: SNI (skipped for IP literals) and, when `verify`,
/// the host name the certificate must match (X509_VERIFY_PARAM_set1_host / set1_ip_asc).
/// `host` may be a name (a trailing dot is ignored), an IP address, or a bracketed literal
/// ("[192.0.2.1]", "[IPv6:2001:db8::1]"). With `verify` and an empty host no certificate can
/// match, so verification fails rather than accepting any name.
void set_client_peer(SSL* ssl, const std::string& host, bool verify);

/// The certificate checks of one client session, whatever the context's default: the chain against
/// the context's trust and one of `names` (host names, "*.example.org" patterns matching one label,
/// or one IP literal). `enforce`: a failure ends the handshake; otherwise it is only recorded
/// (SSL_get_verify_result), for a policy in testing mode.
void set_client_verification(SSL* ssl, const std::vector<std::string>& names, bool enforce);

/// True when `host` is an IP literal (plain or bracketed), which gets no SNI (RFC 6066 3).
bool is_ip_literal(const std::string& host);

}  // namespace sluice::tls
