#include "tls/version.h"

#include <openssl/ssl.h>

namespace sluice::tls {

Version version_from_wire(int value) {
  switch (value) {
    case SSL3_VERSION:
      return Version::Ssl3;
    case TLS1_VERSION:
      return Version::Tls1_0;
    case TLS1_1_VERSION:
      return Version::Tls1_1;
    case TLS1_2_VERSION:
      return Version::Tls1_2;
    case TLS1_3_VERSION:
      return Version::Tls1_3;
    default:
      return Version::Unknown;
  }
}

int wire_value(Version v) {
  switch (v) {
    case Version::Ssl3:
      return SSL3_VERSION;
    case Version::Tls1_0:
      return TLS1_VERSION;
    case Version::Tls1_1:
      return TLS1_1_VERSION;
    case Version::Tls1_2:
      return TLS1_2_VERSION;
    case Version::Tls1_3:
      return TLS1_3_VERSION;
    case Version::Unknown:
      break;
  }
  return 0;
}

std::string_view config_name(Version v) {
  switch (v) {
    case Version::Ssl3:
      return "ssl3";
    case Version::Tls1_0:
      return "1.0";
    case Version::Tls1_1:
      return "1.1";
    case Version::Tls1_2:
      return "1.2";
    case Version::Tls1_3:
      return "1.3";
    case Version::Unknown:
      break;
  }
  return "unknown";
}

std::optional<Version> parse_config_version(std::string_view text) {
  // SSL 3 is deliberately not configurable: no supported OpenSSL build can speak it.
  if (text == "1.0") return Version::Tls1_0;
  if (text == "1.1") return Version::Tls1_1;
  if (text == "1.2") return Version::Tls1_2;
  if (text == "1.3") return Version::Tls1_3;
  return std::nullopt;
}

std::string_view header_name(Version v) {
  switch (v) {
    case Version::Ssl3:
      return "SSL3";
    case Version::Tls1_0:
      return "TLS1_0";
    case Version::Tls1_1:
      return "TLS1_1";
    case Version::Tls1_2:
      return "TLS1_2";
    case Version::Tls1_3:
      return "TLS1_3";
    case Version::Unknown:
      break;
  }
  return "UNKNOWN";
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
