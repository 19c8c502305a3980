#include "tls/context_facts.h"

#include <openssl/x509.h>

#include <algorithm>
#include <memory>

#include "tls/context_policy.h"
#include "tls/version.h"

namespace sluice::tls {
namespace {

struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

/// The suites a connection from `ctx` would offer or accept with exactly `version`.
std::vector<const SSL_CIPHER*> suites_for_version(SSL_CTX* ctx, int version) {
  std::unique_ptr<SSL, SslDeleter> ssl(SSL_new(ctx));
  std::vector<const SSL_CIPHER*> out;
  if (!ssl || !SSL_set_min_proto_version(ssl.get(), version) || !SSL_set_max_proto_version(ssl.get(), version))
    return out;
  STACK_OF(SSL_CIPHER)* supported = SSL_get1_supported_ciphers(ssl.get());
  if (!supported) return out;
  for (int i = 0; i < sk_SSL_CIPHER_num(supported); ++i) out.push_back(sk_SSL_CIPHER_value(supported, i));
  sk_SSL_CIPHER_free(supported);
  return out;
}

}  // namespace

ContextFacts context_facts(SSL_CTX* ctx) {
  ContextFacts facts;
  const long low = SSL_CTX_get_min_proto_version(ctx);
  const long high = SSL_CTX_get_max_proto_version(ctx);
  // Newest first, so that the TLS 1.2 list keeps its preference order and the suites only older
  // versions can use (the CBC-SHA ones of TLS 1.0) follow it.
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION, TLS1_1_VERSION, TLS1_VERSION}) {
    // 0 means "no bound" for both ends of the range.
    if ((low != 0 && version < low) || (high != 0 && version > high)) continue;
    const auto suites = suites_for_version(ctx, version);
    if (suites.empty()) continue;
    facts.versions.insert(facts.versions.begin(), std::string(config_name(version_from_wire(version))));
    auto& names = version == TLS1_3_VERSION ? facts.tls13_suites : facts.tls12_ciphers;
    for (const SSL_CIPHER* suite : suites) {
      std::string name = SSL_CIPHER_get_name(suite);
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
    }
  }
  return facts;
}

std::vector<ServedCertificate> served_certificates(SSL_CTX* ctx) {
  std::vector<ServedCertificate> out;
  for (int more = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST); more;
       more = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT)) {
    X509* cert = SSL_CTX_get0_certificate(ctx);
    if (!cert) continue;
    out.push_back({certificate_subject(cert), certificate_sha256(cert), iso_time(X509_get0_notAfter(cert))});
  }
  return out;
}

}  // namespace sluice::tls
