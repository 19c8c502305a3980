// What a client offered in its ClientHello, so a refused handshake can say "this client only
// speaks TLS 1.0" without a packet capture.
#pragma once
#include <openssl/ssl.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tls/version.h"

namespace sluice::tls {

struct ClientHelloInfo {
  bool seen = false;             ///< a ClientHello was parsed at all
  std::vector<Version> offered;  ///< from supported_versions, highest first; else {legacy max}
  bool from_extension = false;   ///< true: `offered` is the exact list (supported_versions)
  std::string sni;               ///< server name indication, if any
};

/// Decodes the versions from the ClientHello's legacy_version and the body of its
/// supported_versions extension (empty span when absent). GREASE values, drafts and DTLS
/// versions are skipped; a malformed body (length byte disagreeing with its size, odd length)
/// counts as absent. An unknown legacy version with no usable extension leaves `offered` empty.
ClientHelloInfo versions_from_hello(uint16_t legacy_version, std::span<const uint8_t> supported_versions);

/// The host name from the body of a server_name extension (RFC 6066); empty when absent,
/// malformed, or containing bytes outside printable ASCII (it ends up in log lines).
std::string sni_from_extension(std::span<const uint8_t> body);

/// Reads a ClientHello inside OpenSSL's client hello callback; `seen` is false when called
/// anywhere else (OpenSSL keeps the parsed hello only during the callback).
ClientHelloInfo read_client_hello(SSL* ssl);

/// "TLS1_0 only" / "TLS1_3, TLS1_2" / "up to TLS1_1 (no supported_versions extension)".
std::string describe_offered(const ClientHelloInfo& info);

}  // namespace sluice::tls
