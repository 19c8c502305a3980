#include "tls/version.h"

#include <openssl/ssl.h>

#include "base/lookup.h"

namespace sluice::tls {
namespace {

struct VersionNames {
  Version version;
  int wire;
  std::string_view config;
  std::string_view header;
};

// Version::Unknown has no row: each reader below says what it maps to.
constexpr VersionNames kVersions[] = {
    {Version::Ssl3, SSL3_VERSION, "ssl3", "SSL3"},      {Version::Tls1_0, TLS1_VERSION, "1.0", "TLS1_0"},
    {Version::Tls1_1, TLS1_1_VERSION, "1.1", "TLS1_1"}, {Version::Tls1_2, TLS1_2_VERSION, "1.2", "TLS1_2"},
    {Version::Tls1_3, TLS1_3_VERSION, "1.3", "TLS1_3"},
};

}  // namespace

Version version_from_wire(int value) {
  return lookup(kVersions, &VersionNames::wire, value, &VersionNames::version).value_or(Version::Unknown);
}

int wire_value(Version v) { return lookup(kVersions, &VersionNames::version, v, &VersionNames::wire).value_or(0); }

std::string_view config_name(Version v) {
  return lookup(kVersions, &VersionNames::version, v, &VersionNames::config).value_or("unknown");
}

std::optional<Version> parse_config_version(std::string_view text) {
  auto v = lookup(kVersions, &VersionNames::config, text, &VersionNames::version);
  // SSL 3 is deliberately not configurable: no supported OpenSSL build can speak it.
  if (v == Version::Ssl3) return std::nullopt;
  return v;
}

std::string_view header_name(Version v) {
  return lookup(kVersions, &VersionNames::version, v, &VersionNames::header).value_or("UNKNOWN");
}

std::string exchange_protocol_name(Version v, bool server_side) {
  // schannel.h spells SSL 3 as SP_PROT_SSL3_SERVER, the TLS ones as SP_PROT_TLS1_x_SERVER,
  // so the header name doubles as the middle part.
  std::string name = "SP_PROT_";
  name += header_name(v);
  name += server_side ? "_SERVER" : "_CLIENT";
  return name;
}

}  // namespace sluice::tls
