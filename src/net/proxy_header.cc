#include "net/proxy_header.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>

namespace sluice::net {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr std::size_t kV2FixedLength = 16;

/// True when `bytes` is a beginning of `whole` (or the whole, or more).
bool could_begin(std::string_view bytes, std::string_view whole) {
  const std::size_t n = std::min(bytes.size(), whole.size());
  return bytes.substr(0, n) == whole.substr(0, n);
}

/// A v1 port: 1 to 5 digits, no leading zero (the spec's "0 to 65535" as HAProxy writes them).
std::optional<std::uint16_t> v1_port(std::string_view text) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

std::optional<asio::ip::address> v1_address(std::string_view text, bool v6) {
  std::error_code ec;
  const std::string s(text);
  if (v6) {
    auto a = asio::ip::make_address_v6(s, ec);
    if (ec || a.scope_id() != 0) return std::nullopt;  // "fe80::1%eth0" is not on the wire
    return asio::ip::address(a);
  }
  auto a = asio::ip::make_address_v4(s, ec);
  if (ec) return std::nullopt;
  return asio::ip::address(a);
}

/// "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25" (without CR LF), single spaces.
Result<ProxyHeader> parse_v1_line(std::string_view line) {
  std::array<std::string_view, 6> fields;
  std::size_t count = 0;
  std::string_view rest = line.substr(kV1Prefix.size());
  // UNKNOWN may be followed by anything (the spec: the receiver ignores it up to CR LF).
  if (rest == "UNKNOWN" || rest.starts_with("UNKNOWN ")) return ProxyHeader{1, line.size() + 2, {}, {}};
  while (true) {
    const std::size_t space = rest.find(' ');
    if (count == fields.size()) return fail("PROXY v1 header has more than six fields");
    fields[count++] = rest.substr(0, space);
    if (space == std::string_view::npos) break;
    rest.remove_prefix(space + 1);
  }
  if (fields[0] != "TCP4" && fields[0] != "TCP6")
    return fail(
        fmt::format("PROXY v1 header names protocol \"{}\" (TCP4, TCP6 or UNKNOWN expected)", fields[0].substr(0, 8)));
  if (count != 5)
    return fail("PROXY v1 header does not have its five fields after PROXY (protocol, two addresses, two ports)");
  const bool v6 = fields[0] == "TCP6";
  auto source = v1_address(fields[1], v6);
  auto destination = v1_address(fields[2], v6);
  if (!source || !destination)
    return fail(fmt::format("PROXY v1 header has an address that is not {}", v6 ? "IPv6" : "IPv4"));
  auto source_port = v1_port(fields[3]);
  auto destination_port = v1_port(fields[4]);
  if (!source_port || !destination_port) return fail("PROXY v1 header has a port that is not 0 to 65535");
  return ProxyHeader{1, line.size() + 2, asio::ip::tcp::endpoint(*source, *source_port),
                     asio::ip::tcp::endpoint(*destination, *destination_port)};
}

Result<std::optional<ProxyHeader>> parse_v1(std::string_view bytes) {
  const std::string_view window = bytes.substr(0, kMaxProxyV1Length);
  // Printable ASCII up to the CR LF: anything else is not a header, and says so at once.
  for (std::size_t i = 0; i < window.size(); ++i) {
    const unsigned char c = window[i];
    if (c == '\r') {
      if (i + 1 == window.size()) break;
      if (window[i + 1] != '\n') return fail("PROXY v1 header has a CR not followed by LF");
      auto header = parse_v1_line(window.substr(0, i));
      if (!header) return fail(std::move(header.error()));
      return std::optional<ProxyHeader>(*header);
    }
    if (c < 0x20 || c > 0x7e) return fail("PROXY v1 header has a control or non-ASCII byte before its CR LF");
  }
  if (bytes.size() >= kMaxProxyV1Length)
    return fail(fmt::format("PROXY v1 header has no CR LF within {} bytes", kMaxProxyV1Length));
  return std::optional<ProxyHeader>();
}

std::uint16_t big_endian16(std::string_view bytes, std::size_t at) {
  return static_cast<std::uint16_t>((static_cast<unsigned char>(bytes[at]) << 8) |
                                    static_cast<unsigned char>(bytes[at + 1]));
}

/// v2's address block for `Address` (IPv4 or IPv6): source, destination, source port,
/// destination port; whatever follows (TLVs) is skipped.
template <typename Address>
Result<std::optional<ProxyHeader>> v2_addresses(std::string_view block, ProxyHeader header, std::string_view family) {
  typename Address::bytes_type source, destination;
  const std::size_t n = source.size();
  if (block.size() < 2 * n + 4) return fail(fmt::format("PROXY v2 header too short for its {} addresses", family));
  std::copy_n(block.begin(), n, source.begin());
  std::copy_n(block.begin() + n, n, destination.begin());
  header.source = asio::ip::tcp::endpoint(Address(source), big_endian16(block, 2 * n));
  header.destination = asio::ip::tcp::endpoint(Address(destination), big_endian16(block, 2 * n + 2));
  return std::optional<ProxyHeader>(header);
}

Result<std::optional<ProxyHeader>> parse_v2(std::string_view bytes) {
  if (bytes.size() < kV2FixedLength) return std::optional<ProxyHeader>();
  const unsigned version_command = static_cast<unsigned char>(bytes[12]);
  const unsigned family = static_cast<unsigned char>(bytes[13]);
  const std::size_t length = kV2FixedLength + big_endian16(bytes, 14);
  if ((version_command >> 4) != 2)
    return fail(fmt::format("PROXY v2 signature with version {} (2 expected)", version_command >> 4));
  const unsigned command = version_command & 0x0f;
  if (command > 1) return fail(fmt::format("PROXY v2 header has command {} (LOCAL or PROXY expected)", command));
  if (length > kMaxProxyV2Length)
    return fail(fmt::format("PROXY v2 header of {} bytes (at most {} accepted)", length, kMaxProxyV2Length));
  if (bytes.size() < length) return std::optional<ProxyHeader>();
  ProxyHeader header{2, length, {}, {}};
  // LOCAL: the load balancer speaking for itself (a health check); the addresses, if any, are ignored.
  if (command == 0) return std::optional<ProxyHeader>(header);
  const std::string_view block = bytes.substr(kV2FixedLength, length - kV2FixedLength);
  switch (family) {
    case 0x00:  // AF_UNSPEC: an unknown protocol; the connection's own endpoints stand
      return std::optional<ProxyHeader>(header);
    case 0x11:  // AF_INET, STREAM
      return v2_addresses<asio::ip::address_v4>(block, header, "IPv4");
    case 0x21:  // AF_INET6, STREAM
      return v2_addresses<asio::ip::address_v6>(block, header, "IPv6");
    default:
      return fail(fmt::format(
          "PROXY v2 header with address family and protocol 0x{:02x} (only TCP over IPv4 or IPv6, or UNSPEC)", family));
  }
}

}  // namespace

Result<std::optional<ProxyHeader>> parse_proxy_header(std::string_view bytes, ProxyVersions accepted) {
  const bool v1 = static_cast<unsigned>(accepted) & static_cast<unsigned>(ProxyVersions::V1);
  const bool v2 = static_cast<unsigned>(accepted) & static_cast<unsigned>(ProxyVersions::V2);
  const bool could_be_v1 = could_begin(bytes, kV1Prefix), could_be_v2 = could_begin(bytes, kV2Signature);
  if (could_be_v1 && bytes.size() >= kV1Prefix.size()) {
    if (!v1) return fail("PROXY v1 header, but the connector accepts only v2");
    return parse_v1(bytes);
  }
  if (could_be_v2 && bytes.size() >= kV2Signature.size()) {
    if (!v2) return fail("PROXY v2 header, but the connector accepts only v1");
    return parse_v2(bytes);
  }
  if ((could_be_v1 && v1) || (could_be_v2 && v2)) return std::optional<ProxyHeader>();
  return fail("no PROXY header at the start of the connection");
}

bool begins_with_proxy_header(std::string_view first_line, std::string_view rest) {
  if (first_line.starts_with(kV1Prefix)) return true;
  // The signature after its first CR LF: at least "\r\n\0", which no SMTP client sends.
  const std::string_view after_line = kV2Signature.substr(2);
  return first_line.empty() && rest.size() >= 3 && could_begin(rest, after_line);
}

}  // namespace sluice::net
