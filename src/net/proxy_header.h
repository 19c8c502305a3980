// HAProxy's PROXY protocol (www.haproxy.org/download/2.6/doc/proxy-protocol.txt): the header a
// load balancer sends first on a connection it forwards, naming the client it came from. Both
// versions: v1 (a text line: TCP4, TCP6, UNKNOWN) and v2 (binary: PROXY and LOCAL commands,
// AF_INET, AF_INET6, AF_UNSPEC; TLVs are skipped).
#pragma once
#include <asio/ip/tcp.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/result.h"

namespace sluice::net {

/// The versions a receive connector accepts (`proxy_protocol = "v1" | "v2" | "v1+v2"`).
enum class ProxyVersions : std::uint8_t { V1 = 1, V2 = 2, Both = 3 };

/// The spec's own bound for a v1 line, CR LF included.
inline constexpr std::size_t kMaxProxyV1Length = 107;
/// Ours for v2 (the spec allows 16 + 65535): the addresses take at most 216 bytes (AF_UNIX), and
/// HAProxy's TLVs (ALPN, authority, unique id up to 128 bytes, SSL details) fit well within the
/// rest. A longer header is refused rather than buffered.
inline constexpr std::size_t kMaxProxyV2Length = 16 + 1024;

struct ProxyHeader {
  int version = 0;         ///< 1 or 2
  std::size_t length = 0;  ///< bytes the header took on the wire; what follows is the client's
  /// The client, and the address it connected to (the load balancer's front end). Both nullopt
  /// when the header names no client: v1 UNKNOWN, v2 LOCAL (health checks send these) or v2
  /// PROXY with AF_UNSPEC; the connection's own endpoints stand then.
  std::optional<asio::ip::tcp::endpoint> source, destination;
  bool names_client() const { return source.has_value(); }
};

/// Parses the header at the start of `bytes` (what the connection has sent so far). nullopt:
/// the bytes are a correct beginning, read more and call again. An error (a line for the log)
/// when they are not a header, or not one of an accepted version, or a malformed or over-long
/// one: nothing of the connection may be trusted then.
Result<std::optional<ProxyHeader>> parse_proxy_header(std::string_view bytes, ProxyVersions accepted);

/// True when a connection that should not send a PROXY header began with one: `first_line` is the
/// first line it sent (without CR LF) and `rest` what was buffered after it. v1 begins "PROXY ";
/// v2's signature reads as an empty line followed by CR LF NUL.
bool begins_with_proxy_header(std::string_view first_line, std::string_view rest);

}  // namespace sluice::net
