#include "tls/policy.h"

namespace sluice::tls {

const char* const kExchangeOnlineCiphers =
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-SHA384:"
    "ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA:ECDHE-RSA-AES128-SHA:AES256-GCM-SHA384:AES128-GCM-SHA256";

namespace {

// Exchange Online's suites with an ECDSA twin beside each ECDHE-RSA one, same order.
constexpr const char* kExchangeOnlineWithEcdsa =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
    "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
    "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:"
    "AES256-GCM-SHA384:AES128-GCM-SHA256";

// Forward-secret AEAD suites first; the CBC and RSA key transport suites stay (last) only
// because a peer that shares nothing else with us would otherwise not get TLS at all, and
// Exchange Online still offers them.
constexpr const char* kDefaultCiphers =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
    "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
    "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:"
    "AES256-GCM-SHA384:AES128-GCM-SHA256";

constexpr const char* kDefaultCiphersuites =
    "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256";

}  // namespace

bool Policy::allows_legacy_versions() const { return min_version != Version::Unknown && min_version < Version::Tls1_2; }

std::optional<Policy> named_policy(std::string_view name) {
  Policy p;
  p.profile = std::string(name);
  p.ciphersuites = kDefaultCiphersuites;
  if (name == "default") {
    p.ciphers = kDefaultCiphers;
  } else if (name == "exchange-online") {
    p.ciphers = kExchangeOnlineWithEcdsa;
  } else if (name == "legacy") {
    // TLS 1.0/1.1 sign with SHA-1 and MD5, which OpenSSL only permits at security level 0.
    p.min_version = Version::Tls1_0;
    p.ciphers = "DEFAULT:@SECLEVEL=0";
    p.security_level = 0;
  } else {
    return std::nullopt;
  }
  return p;
}

}  // namespace sluice::tls
