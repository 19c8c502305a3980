// An OpenSSL server context built from a receive connector's TLS policy.
#pragma once
#include <asio/ssl/context.hpp>

#include <memory>
#include <vector>

#include "tls/certificates.h"
#include "tls/client_hello.h"
#include "tls/policy.h"

namespace sluice::tls {

/// Builds the context: versions, suites and security level from `policy`, every certificate in
/// `certificates` (OpenSSL picks one per handshake by what the client offers, so an ECDSA and an
/// RSA pair serve old and new clients), server cipher preference, no renegotiation, and a
/// ClientHello hook that records what the client offered (client_hello_of()). Throws
/// std::runtime_error naming the file or setting that OpenSSL refused.
std::shared_ptr<asio::ssl::context> make_server_context(const Policy& policy,
                                                        const std::vector<CertificateFiles>& certificates);

/// What the client offered in this connection's ClientHello; `seen` is false before the hook ran.
const ClientHelloInfo& client_hello_of(SSL* ssl);

/// The most recent OpenSSL error as text, and clears the queue.
std::string openssl_error_text();

/// Throws std::runtime_error "<what>: <the most recent OpenSSL error>": a context that cannot be
/// built is a configuration error, reported at start.
[[noreturn]] void throw_openssl_error(const std::string& what);

}  // namespace sluice::tls
