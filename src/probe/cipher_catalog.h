// The cipher suites a probe can offer, per TLS version: everything this OpenSSL can speak at
// security level 0 (so that what old servers accept can be seen), and Office 365's list.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tls/version.h"

namespace sluice::probe {

struct CipherSuite {
  std::uint16_t id = 0;   ///< IANA code point, e.g. 0xC02F
  std::string name;       ///< OpenSSL's name, "ECDHE-RSA-AES128-GCM-SHA256" (TLS 1.3: the IANA name)
  std::string iana_name;  ///< "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
  int bits = 0;           ///< symmetric strength
};

/// The five RFC 8446 suites, as every probe connection offers them unless a step narrows them
/// (SSL_set_ciphersuites syntax).
inline constexpr const char* kTls13Suites =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256:"
    "TLS_AES_128_CCM_8_SHA256";

/// Every suite of TLS 1.2 and older this OpenSSL has, weak ones included (SSL_set_cipher_list
/// syntax).
inline constexpr const char* kPreTls13Suites = "ALL:COMPLEMENTOFALL:@SECLEVEL=0";

/// Suites OpenSSL would put in a ClientHello for exactly `version` at security level 0, in
/// OpenSSL's default preference order. For TLS 1.3: the five RFC 8446 suites. Computed once.
const std::vector<CipherSuite>& offerable_suites(tls::Version version);

/// The suite with this OpenSSL or IANA name (any version), or nullptr.
const CipherSuite* find_suite(std::string_view name);

/// "A:B:C" for SSL_set_cipher_list (TLS 1.2 and older) or SSL_set_ciphersuites (TLS 1.3).
std::string suite_list(const std::vector<const CipherSuite*>& suites);

/// Office 365's TLS 1.2 suites (IANA names, strongest first), from Microsoft's published list.
const std::vector<std::string_view>& office365_suites();

/// True for suites every modern peer refuses: RC4, 3DES, DES, NULL, EXPORT, anonymous.
bool is_weak(const CipherSuite& suite);

}  // namespace sluice::probe
