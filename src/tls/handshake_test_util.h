// Test-only helpers: a self-signed certificate and an in-memory handshake between two SSL
// objects, so TLS tests exercise real OpenSSL behaviour without sockets. Header-only so that it
// is compiled only into the test binary.
#pragma once
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace sluice::tls::test_util {

struct SslCtxFree {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
};
struct SslFree {
  void operator()(SSL* p) const { SSL_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

struct Credentials {
  PkeyPtr key;
  X509Ptr cert;
};

/// A self-signed certificate for CN=test.invalid; "rsa:<bits>" or "ec" (P-256).
inline Credentials make_self_signed(const std::string& kind) {
  Credentials c;
  if (kind == "ec") {
    c.key.reset(EVP_EC_gen("P-256"));
  } else {
    c.key.reset(EVP_RSA_gen(static_cast<unsigned>(std::stoul(kind.substr(4)))));
  }
  c.cert.reset(X509_new());
  X509_set_version(c.cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(c.cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c.cert.get()), 3600);
  X509_NAME* name = X509_get_subject_name(c.cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("test.invalid"), -1, -1,
                             0);
  X509_set_issuer_name(c.cert.get(), name);
  X509_set_pubkey(c.cert.get(), c.key.get());
  X509_sign(c.cert.get(), c.key.get(), EVP_sha256());
  return c;
}

/// A context at security level 0 so that old versions and suites can be tested at all.
inline CtxPtr make_ctx(bool server, const Credentials* creds = nullptr) {
  CtxPtr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  SSL_CTX_set_security_level(ctx.get(), 0);
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_VERSION);
  if (creds != nullptr) {
    SSL_CTX_use_certificate(ctx.get(), creds->cert.get());
    SSL_CTX_use_PrivateKey(ctx.get(), creds->key.get());
  }
  return ctx;
}

struct Connection {
  SslPtr client;
  SslPtr server;
  bool client_ok = false;
  bool server_ok = false;
};

/// Runs a handshake between two prepared SSL objects (a client and a server) over a BIO pair;
/// stops when both finished or neither can make progress.
inline Connection handshake(SslPtr client, SslPtr server) {
  Connection c;
  c.client = std::move(client);
  c.server = std::move(server);
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
  SSL_set_bio(c.client.get(), client_bio, client_bio);
  SSL_set_bio(c.server.get(), server_bio, server_bio);
  SSL_set_connect_state(c.client.get());
  SSL_set_accept_state(c.server.get());
  bool client_failed = false, server_failed = false;
  for (int round = 0; round < 50; ++round) {
    if (!c.client_ok && !client_failed) {
      int r = SSL_do_handshake(c.client.get());
      if (r == 1)
        c.client_ok = true;
      else if (SSL_get_error(c.client.get(), r) != SSL_ERROR_WANT_READ)
        client_failed = true;
    }
    if (!c.server_ok && !server_failed) {
      int r = SSL_do_handshake(c.server.get());
      if (r == 1)
        c.server_ok = true;
      else if (SSL_get_error(c.server.get(), r) != SSL_ERROR_WANT_READ)
        server_failed = true;
    }
    if ((c.client_ok || client_failed) && (c.server_ok || server_failed)) break;
  }
  return c;
}

/// A handshake between new SSL objects of the two contexts.
inline Connection handshake(SSL_CTX* client_ctx, SSL_CTX* server_ctx) {
  return handshake(SslPtr(SSL_new(client_ctx)), SslPtr(SSL_new(server_ctx)));
}

}  // namespace sluice::tls::test_util
