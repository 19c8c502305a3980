#include "tls/client_context.h"

#include "tls/context_policy.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <asio/ip/address.hpp>

#include <stdexcept>
#include <system_error>

#include "tls/certificates.h"
#include "tls/client_certificates.h"
#include "tls/server_context.h"
#include "tls/version.h"

namespace sluice::tls {
namespace {

/// The address part of a bracketed or plain literal: "[IPv6:::1]" -> "::1".
std::string literal_text(const std::string& host) {
  std::string h = host;
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.size() > 5 && (h.compare(0, 5, "IPv6:") == 0 || h.compare(0, 5, "ipv6:") == 0)) h = h.substr(5);
  return h;
}

}  // namespace

bool is_ip_literal(const std::string& host) {
  std::error_code ec;
  (void)asio::ip::make_address(literal_text(host), ec);
  return !ec;
}

std::shared_ptr<asio::ssl::context> make_client_context(const Policy& policy, bool verify_peer,
                                                        const std::filesystem::path& ca_file) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* ctx = context->native_handle();
  apply_policy(ctx, policy, "tls_policy.");
  if (!policy.certificate.empty()) use_certificate_files(ctx, {policy.certificate, policy.key});
  record_certificate_requests(ctx);  // for the send protocol log
  // Any session may need DANE (tls/dane.h); enabled here, once, so that sessions never change
  // the shared context.
  if (SSL_CTX_dane_enable(ctx) <= 0) throw_openssl_error("DANE support");
  if (verify_peer) {
    if (!ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1)
        throw_openssl_error("ca_file " + ca_file.string());
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      throw_openssl_error("the system trust store");
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    // Required and opportunistic TLS encrypt against passive listeners only; the certificate is
    // still received and logged, but a self-signed one must not stop delivery (RFC 7435).
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  return context;
}

void set_client_peer(SSL* ssl, const std::string& host, bool verify) {
  if (ssl == nullptr) return;
  const bool literal = is_ip_literal(host);
  std::string name = host;
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (!literal && !name.empty()) SSL_set_tlsext_host_name(ssl, name.c_str());
  if (!verify) return;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (literal) {
    X509_VERIFY_PARAM_set1_ip_asc(param, literal_text(host).c_str());
  } else if (!name.empty()) {
    X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
  } else {
    // No name to check against: a name no certificate can carry makes the check fail closed.
    static const char kNoName[] = "no host name given";
    X509_VERIFY_PARAM_set1_host(param, kNoName, sizeof kNoName - 1);
  }
}

void set_client_verification(SSL* ssl, const std::vector<std::string>& names, bool enforce) {
  if (ssl == nullptr) return;
  SSL_set_verify(ssl, enforce ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (names.size() == 1 && is_ip_literal(names.front())) {
    X509_VERIFY_PARAM_set1_ip_asc(param, literal_text(names.front()).c_str());
    return;
  }
  bool first = true;
  for (std::string name : names) {
    if (!name.empty() && name.back() == '.') name.pop_back();
    if (name.empty()) continue;
    // A pattern "*.example.org" accepts any certificate name one label below example.org: OpenSSL
    // takes a leading "." as "this domain's subdomains".
    if (name.starts_with("*.")) name.erase(0, 1);
    if (first)
      X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
    else
      X509_VERIFY_PARAM_add1_host(param, name.c_str(), name.size());
    first = false;
  }
  if (first) {
    static const char kNoName[] = "no host name given";
    X509_VERIFY_PARAM_set1_host(param, kNoName, sizeof kNoName - 1);
  }
}

}  // namespace sluice::tls
