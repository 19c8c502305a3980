#include "net/proxy_header.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::net {
namespace {

// A directive, not a using-declaration, which would hide std::chrono_literals' operator""s from
// the other tests of a unity build's translation unit.
using namespace std::string_literals;

const std::string kSignature = "\r\n\r\n\0\r\nQUIT\n"s;

/// A v2 header: signature, version/command byte, family byte, then `block` with its length.
std::string v2(unsigned char version_command, unsigned char family, const std::string& block) {
  std::string out = kSignature;
  out += static_cast<char>(version_command);
  out += static_cast<char>(family);
  out += static_cast<char>(block.size() >> 8);
  out += static_cast<char>(block.size() & 0xff);
  return out + block;
}

/// 192.0.2.1:56324 -> 198.51.100.2:25 as v2's AF_INET block.
const std::string kInetBlock = "\xc0\x00\x02\x01\xc6\x33\x64\x02\xdc\x04\x00\x19"s;

std::string error_of(std::string_view bytes, ProxyVersions accepted = ProxyVersions::Both) {
  auto parsed = parse_proxy_header(bytes, accepted);
  if (parsed) return "(no error)";
  return parsed.error().message;
}

ProxyHeader complete(std::string_view bytes, ProxyVersions accepted = ProxyVersions::Both) {
  auto parsed = parse_proxy_header(bytes, accepted);
  if (!parsed) ADD_FAILURE() << parsed.error().message;
  if (!parsed || !*parsed) {
    ADD_FAILURE() << "incomplete";
    return {};
  }
  return **parsed;
}

bool incomplete(std::string_view bytes, ProxyVersions accepted = ProxyVersions::Both) {
  auto parsed = parse_proxy_header(bytes, accepted);
  return parsed && !*parsed;
}

TEST(ProxyHeaderV1, Tcp4NamesClientAndDestination) {
  const std::string line = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n";
  auto h = complete(line + "EHLO x\r\n");
  EXPECT_EQ(h.version, 1);
  EXPECT_EQ(h.length, line.size());
  ASSERT_TRUE(h.names_client());
  EXPECT_EQ(h.source->address().to_string(), "192.0.2.1");
  EXPECT_EQ(h.source->port(), 56324);
  EXPECT_EQ(h.destination->address().to_string(), "198.51.100.2");
  EXPECT_EQ(h.destination->port(), 25);
}

TEST(ProxyHeaderV1, Tcp6) {
  auto h = complete("PROXY TCP6 2001:db8::1 2001:db8::2 65535 0\r\n");
  ASSERT_TRUE(h.names_client());
  EXPECT_EQ(h.source->address().to_string(), "2001:db8::1");
  EXPECT_EQ(h.source->port(), 65535);
  EXPECT_EQ(h.destination->port(), 0);
}

TEST(ProxyHeaderV1, UnknownNamesNoClient) {
  auto h = complete("PROXY UNKNOWN\r\n");
  EXPECT_FALSE(h.names_client());
  EXPECT_EQ(h.length, 15u);
  // The spec lets UNKNOWN carry anything up to CR LF, which the receiver ignores.
  auto longer = complete("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n");
  EXPECT_FALSE(longer.names_client());
  EXPECT_EQ(longer.length, 35u);
}

TEST(ProxyHeaderV1, EveryPrefixIsIncomplete) {
  const std::string line = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n";
  for (std::size_t n = 0; n < line.size(); ++n) EXPECT_TRUE(incomplete(line.substr(0, n))) << n;
}

TEST(ProxyHeaderV1, MalformedLinesAreRefused) {
  const char* cases[] = {
      "PROXY TCP5 192.0.2.1 198.51.100.2 1 2\r\n",         // protocol
      "PROXY \r\n",                                        // nothing after PROXY
      "PROXY TCP4 192.0.2.1 198.51.100.2 1\r\n",           // a port missing
      "PROXY TCP4 192.0.2.1 198.51.100.2 1 2 3\r\n",       // a field too many
      "PROXY TCP4  192.0.2.1 198.51.100.2 1 2\r\n",        // two spaces
      "PROXY TCP4 192.0.2.1 198.51.100.2 1 2 \r\n",        // trailing space
      "PROXY TCP4 2001:db8::1 198.51.100.2 1 2\r\n",       // IPv6 under TCP4
      "PROXY TCP6 192.0.2.1 2001:db8::2 1 2\r\n",          // IPv4 under TCP6
      "PROXY TCP4 192.0.2.256 198.51.100.2 1 2\r\n",       // octet out of range
      "PROXY TCP4 192.0.2 198.51.100.2 1 2\r\n",           // three octets
      "PROXY TCP6 fe80::1%1 2001:db8::2 1 2\r\n",          // scope id
      "PROXY TCP4 192.0.2.1 198.51.100.2 65536 2\r\n",     // port out of range
      "PROXY TCP4 192.0.2.1 198.51.100.2 025 2\r\n",       // leading zero
      "PROXY TCP4 192.0.2.1 198.51.100.2 -1 2\r\n",        // sign
      "PROXY TCP4 192.0.2.1 198.51.100.2 1 +2\r\n",        // sign
      "PROXY TCP4 192.0.2.1 198.51.100.2 1 2x\r\n",        // trailing junk
      "PROXY TCP4 192.0.2.1 198.51.100.2 1 2\n",           // LF without CR
      "PROXY TCP4 192.0.2.1 198.51.100.2 1 2\rX",          // CR without LF
      "PROXY TCP4 192.0.2.1\t198.51.100.2 1 2\r\n",        // control byte
      "PROXY TCP4 192.0.2.1 198.51.100.2 1 \xc3\xa9\r\n",  // non-ASCII
      "proxy TCP4 192.0.2.1 198.51.100.2 1 2\r\n",         // case
      "PROXY unknown\r\n",                                 // case
      "PROXY UNKNOWNX\r\n",
  };
  for (const char* c : cases) {
    auto parsed = parse_proxy_header(c, ProxyVersions::Both);
    EXPECT_FALSE(parsed) << c;
    if (!parsed) {
      EXPECT_NE(parsed.error().message.find("PROXY"), std::string::npos) << parsed.error().message;
    }
  }
}

TEST(ProxyHeaderV1, LongestLineAcceptedLongerRefused) {
  // 107 bytes with CR LF: the spec's worst case (UNKNOWN with IPv6 addresses); TCP6's is 104.
  const std::string tcp6 =
      "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
  EXPECT_EQ(complete(tcp6).length, 104u);
  const std::string longest =
      "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
  ASSERT_EQ(longest.size(), kMaxProxyV1Length);
  EXPECT_EQ(complete(longest).length, kMaxProxyV1Length);
  const std::string unknown_longest = "PROXY UNKNOWN " + std::string(kMaxProxyV1Length - 16, 'a') + "\r\n";
  EXPECT_EQ(complete(unknown_longest).length, kMaxProxyV1Length);
  const std::string unknown_too_long = "PROXY UNKNOWN " + std::string(kMaxProxyV1Length - 15, 'a') + "\r\n";
  EXPECT_EQ(error_of(unknown_too_long), "PROXY v1 header has no CR LF within 107 bytes");
  // Still incomplete at 106 bytes without CR LF, refused at 107.
  const std::string no_end = "PROXY UNKNOWN " + std::string(200, 'a');
  EXPECT_TRUE(incomplete(no_end.substr(0, 106)));
  EXPECT_FALSE(parse_proxy_header(no_end.substr(0, 107), ProxyVersions::Both));
}

TEST(ProxyHeaderV1, RefusedWhenOnlyV2Accepted) {
  EXPECT_EQ(error_of("PROXY UNKNOWN\r\n", ProxyVersions::V2), "PROXY v1 header, but the connector accepts only v2");
  // A beginning of "PROXY " is no v2 header either.
  EXPECT_FALSE(parse_proxy_header("PRO", ProxyVersions::V2));
  EXPECT_TRUE(incomplete("PRO", ProxyVersions::V1));
}

TEST(ProxyHeader, MissingHeaderIsRefused) {
  EXPECT_EQ(error_of("EHLO client.example\r\n"), "no PROXY header at the start of the connection");
  EXPECT_FALSE(parse_proxy_header("\r\n\r\nX", ProxyVersions::Both));
  EXPECT_FALSE(parse_proxy_header("P", ProxyVersions::V2));
  EXPECT_TRUE(incomplete(""));
}

TEST(ProxyHeaderV2, ProxyInetNamesClient) {
  const std::string header = v2(0x21, 0x11, kInetBlock);
  auto h = complete(header + "EHLO x\r\n");
  EXPECT_EQ(h.version, 2);
  EXPECT_EQ(h.length, 28u);
  ASSERT_TRUE(h.names_client());
  EXPECT_EQ(h.source->address().to_string(), "192.0.2.1");
  EXPECT_EQ(h.source->port(), 56324);
  EXPECT_EQ(h.destination->address().to_string(), "198.51.100.2");
  EXPECT_EQ(h.destination->port(), 25);
}

TEST(ProxyHeaderV2, ProxyInet6NamesClient) {
  std::string block(36, '\0');
  block[0] = '\x20', block[1] = '\x01', block[2] = '\x0d', block[3] = '\xb8', block[15] = '\x01';
  block[16] = '\x20', block[17] = '\x01', block[18] = '\x0d', block[19] = '\xb8', block[31] = '\x02';
  block[32] = '\x01', block[33] = '\x00', block[35] = '\x19';
  auto h = complete(v2(0x21, 0x21, block));
  ASSERT_TRUE(h.names_client());
  EXPECT_EQ(h.source->address().to_string(), "2001:db8::1");
  EXPECT_EQ(h.source->port(), 256);
  EXPECT_EQ(h.destination->address().to_string(), "2001:db8::2");
  EXPECT_EQ(h.destination->port(), 25);
}

TEST(ProxyHeaderV2, TlvsAreSkipped) {
  // PP2_TYPE_ALPN "smtp" and a NOOP: the header's length covers them, the client's bytes follow.
  const std::string tlvs = "\x01\x00\x04smtp\x04\x00\x02xx"s;
  const std::string header = v2(0x21, 0x11, kInetBlock + tlvs);
  auto h = complete(header + "QUIT\r\n");
  EXPECT_EQ(h.length, header.size());
  EXPECT_EQ(h.source->address().to_string(), "192.0.2.1");
}

TEST(ProxyHeaderV2, LocalAndUnspecNameNoClient) {
  EXPECT_FALSE(complete(v2(0x20, 0x00, "")).names_client());
  // LOCAL ignores whatever addresses it carries.
  EXPECT_FALSE(complete(v2(0x20, 0x11, kInetBlock)).names_client());
  EXPECT_FALSE(complete(v2(0x21, 0x00, "")).names_client());
  EXPECT_EQ(complete(v2(0x20, 0x00, "")).length, 16u);
}

TEST(ProxyHeaderV2, EveryPrefixIsIncomplete) {
  const std::string header = v2(0x21, 0x11, kInetBlock);
  for (std::size_t n = 0; n < header.size(); ++n) EXPECT_TRUE(incomplete(header.substr(0, n))) << n;
}

TEST(ProxyHeaderV2, MalformedHeadersAreRefused) {
  EXPECT_EQ(error_of(v2(0x11, 0x11, kInetBlock)), "PROXY v2 signature with version 1 (2 expected)");
  EXPECT_EQ(error_of(v2(0x31, 0x11, kInetBlock)), "PROXY v2 signature with version 3 (2 expected)");
  EXPECT_EQ(error_of(v2(0x22, 0x11, kInetBlock)), "PROXY v2 header has command 2 (LOCAL or PROXY expected)");
  EXPECT_EQ(error_of(v2(0x21, 0x11, kInetBlock.substr(0, 11))), "PROXY v2 header too short for its IPv4 addresses");
  EXPECT_EQ(error_of(v2(0x21, 0x21, std::string(35, '\0'))), "PROXY v2 header too short for its IPv6 addresses");
  EXPECT_EQ(error_of(v2(0x21, 0x12, kInetBlock)),
            "PROXY v2 header with address family and protocol 0x12 (only TCP over IPv4 or IPv6, or UNSPEC)");
  EXPECT_FALSE(parse_proxy_header(v2(0x21, 0x31, std::string(216, '\0')), ProxyVersions::Both));  // AF_UNIX
  EXPECT_FALSE(parse_proxy_header(v2(0x21, 0x22, std::string(36, '\0')), ProxyVersions::Both));   // UDP
  EXPECT_FALSE(parse_proxy_header(v2(0x21, 0x41, kInetBlock), ProxyVersions::Both));              // no such family
  // A damaged signature is no header at all.
  std::string damaged = v2(0x21, 0x11, kInetBlock);
  damaged[11] = 'X';
  EXPECT_EQ(error_of(damaged), "no PROXY header at the start of the connection");
}

TEST(ProxyHeaderV2, OverLongRefusedBeforeItArrives) {
  const std::size_t max_block = kMaxProxyV2Length - 16;
  EXPECT_EQ(complete(v2(0x21, 0x11, kInetBlock + std::string(max_block - 12, '\0'))).length, kMaxProxyV2Length);
  // The length field alone is enough to refuse: the rest need not be read.
  const std::string too_long = v2(0x21, 0x11, kInetBlock + std::string(max_block - 11, '\0'));
  EXPECT_EQ(error_of(too_long.substr(0, 16)), "PROXY v2 header of 1041 bytes (at most 1040 accepted)");
  EXPECT_FALSE(parse_proxy_header(v2(0x21, 0x11, std::string(65535, '\0')).substr(0, 16), ProxyVersions::Both));
}

TEST(ProxyHeaderV2, RefusedWhenOnlyV1Accepted) {
  EXPECT_EQ(error_of(v2(0x20, 0x00, ""), ProxyVersions::V1), "PROXY v2 header, but the connector accepts only v1");
  EXPECT_TRUE(incomplete(kSignature.substr(0, 5), ProxyVersions::V2));
  EXPECT_FALSE(parse_proxy_header(kSignature.substr(0, 5), ProxyVersions::V1));
}

TEST(BeginsWithProxyHeader, SeesEitherVersionAsTheFirstLine) {
  EXPECT_TRUE(begins_with_proxy_header("PROXY TCP4 192.0.2.1 198.51.100.2 1 2", ""));
  EXPECT_TRUE(begins_with_proxy_header("PROXY UNKNOWN", "EHLO x\r\n"));
  // v2 reads as an empty line, then CR LF NUL CR LF QUIT LF.
  EXPECT_TRUE(begins_with_proxy_header("", kSignature.substr(2) + "\x21\x11"));
  EXPECT_TRUE(begins_with_proxy_header("", kSignature.substr(2, 3)));
  EXPECT_FALSE(begins_with_proxy_header("", "EHLO x\r\n"));
  EXPECT_FALSE(begins_with_proxy_header("", "\r\n"));
  EXPECT_FALSE(begins_with_proxy_header("EHLO PROXY", ""));
  EXPECT_FALSE(begins_with_proxy_header("PROXY", ""));
}

}  // namespace
}  // namespace sluice::net
