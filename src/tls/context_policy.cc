#include "tls/context_policy.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <ctime>
#include <stdexcept>

#include "tls/server_context.h"

namespace sluice::tls {
namespace {

[[noreturn]] void refuse(std::string_view prefix, const std::string& what) {
  throw std::runtime_error(fmt::format("{}{}: {}", prefix, what, openssl_error_text()));
}

}  // namespace

void apply_policy(SSL_CTX* ctx, const Policy& policy, std::string_view key_prefix) {
  ERR_clear_error();
  SSL_CTX_set_security_level(ctx, policy.security_level);
  if (!SSL_CTX_set_min_proto_version(ctx, wire_value(policy.min_version))) refuse(key_prefix, "min_version");
  if (!SSL_CTX_set_max_proto_version(ctx, wire_value(policy.max_version))) refuse(key_prefix, "max_version");
  if (!policy.ciphers.empty() && !SSL_CTX_set_cipher_list(ctx, policy.ciphers.c_str()))
    refuse(key_prefix, "ciphers \"" + policy.ciphers + "\"");
  if (!policy.ciphersuites.empty() && !SSL_CTX_set_ciphersuites(ctx, policy.ciphersuites.c_str()))
    refuse(key_prefix, "ciphersuites \"" + policy.ciphersuites + "\"");
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

std::string certificate_subject(X509* cert) {
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  return buf;
}

std::string certificate_thumbprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!X509_digest(cert, EVP_sha1(), md, &n)) return {};
  std::string out;
  for (unsigned i = 0; i < n; ++i) out += fmt::format("{:02X}", md[i]);
  return out;
}

std::string iso_time(const ASN1_TIME* time) {
  struct tm tm = {};
  if (!time || !ASN1_TIME_to_tm(time, &tm)) return "";
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
}

std::string certificate_sha256(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!X509_digest(cert, EVP_sha256(), md, &n)) return {};
  std::string out;
  for (unsigned i = 0; i < n; ++i) out += fmt::format("{}{:02X}", i ? ":" : "", md[i]);
  return out;
}

}  // namespace sluice::tls
