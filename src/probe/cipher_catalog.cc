#include "probe/cipher_catalog.h"

#include <openssl/ssl.h>

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace sluice::probe {
namespace {

std::vector<CipherSuite> compute(tls::Version version) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) throw std::runtime_error("OpenSSL cannot create a client context");
  SSL_CTX_set_security_level(ctx.get(), 0);
  const int wire = tls::wire_value(version);
  SSL_CTX_set_min_proto_version(ctx.get(), wire);
  SSL_CTX_set_max_proto_version(ctx.get(), wire);
  if (version == tls::Version::Tls1_3) {
    SSL_CTX_set_ciphersuites(ctx.get(), kTls13Suites);
  } else {
    SSL_CTX_set_ciphersuites(ctx.get(), "");
    SSL_CTX_set_cipher_list(ctx.get(), kPreTls13Suites);
  }
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  // The supported list drops what cannot go out in this version's ClientHello (PSK and SRP
  // suites without their callbacks, TLS 1.2-only suites in a TLS 1.0 hello, ...).
  STACK_OF(SSL_CIPHER)* supported = SSL_get1_supported_ciphers(ssl.get());
  std::vector<CipherSuite> out;
  for (int i = 0; supported && i < sk_SSL_CIPHER_num(supported); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(supported, i);
    bool tls13 = std::string_view(SSL_CIPHER_get_version(c)) == "TLSv1.3";
    if (tls13 != (version == tls::Version::Tls1_3)) continue;
    CipherSuite s;
    s.id = SSL_CIPHER_get_protocol_id(c);
    s.name = SSL_CIPHER_get_name(c);
    const char* iana = SSL_CIPHER_standard_name(c);
    s.iana_name = iana ? iana : s.name;
    s.bits = SSL_CIPHER_get_bits(c, nullptr);
    out.push_back(std::move(s));
  }
  sk_SSL_CIPHER_free(supported);
  return out;
}

}  // namespace

const std::vector<CipherSuite>& offerable_suites(tls::Version version) {
  static std::once_flag once;
  static std::map<tls::Version, std::vector<CipherSuite>> table;
  std::call_once(once, [] {
    for (auto v : {tls::Version::Tls1_0, tls::Version::Tls1_1, tls::Version::Tls1_2, tls::Version::Tls1_3})
      table[v] = compute(v);
  });
  static const std::vector<CipherSuite> none;
  auto it = table.find(version);
  return it == table.end() ? none : it->second;
}

const CipherSuite* find_suite(std::string_view name) {
  for (auto v : {tls::Version::Tls1_3, tls::Version::Tls1_2, tls::Version::Tls1_1, tls::Version::Tls1_0})
    for (const auto& s : offerable_suites(v))
      if (s.name == name || s.iana_name == name) return &s;
  return nullptr;
}

std::string suite_list(const std::vector<const CipherSuite*>& suites) {
  std::string out;
  for (const auto* s : suites) {
    if (!out.empty()) out += ':';
    out += s->name;
  }
  return out;
}

const std::vector<std::string_view>& office365_suites() {
  static const std::vector<std::string_view> list = {
      "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
      "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
      "TLS_RSA_WITH_AES_256_GCM_SHA384",       "TLS_RSA_WITH_AES_128_GCM_SHA256",
  };
  return list;
}

bool is_weak(const CipherSuite& suite) {
  static const std::array<std::string_view, 8> markers = {"_RC4_",   "_3DES_", "_DES_",   "_NULL_",
                                                          "_EXPORT", "_anon_", "_DES40_", "_RC2_"};
  for (auto m : markers)
    if (suite.iana_name.find(m) != std::string::npos) return true;
  // OpenSSL names for suites that have no IANA name of their own.
  return suite.name.find("NULL") != std::string::npos || suite.name.find("ADH") == 0 || suite.name.find("AECDH") == 0 ||
         suite.name.find("EXP") == 0;
}

}  // namespace sluice::probe
