// A TLS policy: which versions and suites one connector accepts or uses, by name or by key.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "tls/version.h"

namespace sluice::tls {

struct Policy {
  std::string profile = "default";  ///< "default", "exchange-online" or "legacy"
  Version min_version = Version::Tls1_2;
  Version max_version = Version::Tls1_3;
  std::string ciphers;       ///< TLS 1.2 and below, OpenSSL cipher-list syntax
  std::string ciphersuites;  ///< TLS 1.3 suites, OpenSSL syntax
  int security_level = 2;    ///< OpenSSL security level; 0 only for legacy (TLS 1.0/1.1 need it)
  /// PEM chain. Receive side: what the server presents (empty: the generated ones in the state
  /// dir); send side: the client certificate presented when the server asks (empty: none).
  std::filesystem::path certificate;
  std::filesystem::path key;

  /// True when the policy permits TLS 1.0 or 1.1 (which the server warns about at start).
  bool allows_legacy_versions() const;
};

/// The named profiles:
/// - "default": TLS 1.2-1.3, a modern list that includes all of Exchange Online's suites;
/// - "exchange-online": TLS 1.2-1.3 with exactly Exchange Online's TLS 1.2 suites (their ECDSA
///   twins included so an ECDSA certificate still works);
/// - "legacy": TLS 1.0-1.3 at security level 0, only to emulate old peers.
/// nullopt for an unknown name.
std::optional<Policy> named_policy(std::string_view name);

/// Exchange Online's TLS 1.2 suites in OpenSSL names, strongest first (reference section 5).
extern const char* const kExchangeOnlineCiphers;

}  // namespace sluice::tls
