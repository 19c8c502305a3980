#include "tls/version.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

namespace sluice::tls {
namespace {

TEST(Version, WireRoundTrip) {
  for (Version v : {Version::Ssl3, Version::Tls1_0, Version::Tls1_1, Version::Tls1_2, Version::Tls1_3}) {
    EXPECT_EQ(version_from_wire(wire_value(v)), v);
  }
  EXPECT_EQ(wire_value(Version::Tls1_2), 0x0303);
  EXPECT_EQ(wire_value(Version::Tls1_3), TLS1_3_VERSION);
  EXPECT_EQ(wire_value(Version::Unknown), 0);
}

TEST(Version, UnknownWireValues) {
  EXPECT_EQ(version_from_wire(0), Version::Unknown);
  EXPECT_EQ(version_from_wire(0x0305), Version::Unknown);
  EXPECT_EQ(version_from_wire(0x0a0a), Version::Unknown);  // GREASE
  EXPECT_EQ(version_from_wire(DTLS1_2_VERSION), Version::Unknown);
  EXPECT_EQ(version_from_wire(-1), Version::Unknown);
}

TEST(Version, ConfigNames) {
  EXPECT_EQ(config_name(Version::Tls1_0), "1.0");
  EXPECT_EQ(config_name(Version::Tls1_3), "1.3");
  EXPECT_EQ(parse_config_version("1.1"), Version::Tls1_1);
  EXPECT_EQ(parse_config_version("1.2"), Version::Tls1_2);
  for (Version v : {Version::Tls1_0, Version::Tls1_1, Version::Tls1_2, Version::Tls1_3}) {
    EXPECT_EQ(parse_config_version(config_name(v)), v);
  }
}

TEST(Version, ConfigRejectsOtherSpellings) {
  for (const char* bad : {"", "1", "1.4", "TLS1_2", "tls1.2", " 1.2", "1.2 ", "3.0", "ssl3"}) {
    EXPECT_EQ(parse_config_version(bad), std::nullopt) << bad;
  }
}

TEST(Version, HeaderNames) {
  EXPECT_EQ(header_name(Version::Ssl3), "SSL3");
  EXPECT_EQ(header_name(Version::Tls1_0), "TLS1_0");
  EXPECT_EQ(header_name(Version::Tls1_2), "TLS1_2");
  EXPECT_EQ(header_name(Version::Unknown), "UNKNOWN");
}

TEST(Version, ExchangeProtocolNames) {
  EXPECT_EQ(exchange_protocol_name(Version::Tls1_0, true), "SP_PROT_TLS1_0_SERVER");
  EXPECT_EQ(exchange_protocol_name(Version::Tls1_0, false), "SP_PROT_TLS1_0_CLIENT");
  EXPECT_EQ(exchange_protocol_name(Version::Tls1_1, true), "SP_PROT_TLS1_1_SERVER");
  EXPECT_EQ(exchange_protocol_name(Version::Tls1_2, false), "SP_PROT_TLS1_2_CLIENT");
  EXPECT_EQ(exchange_protocol_name(Version::Tls1_3, true), "SP_PROT_TLS1_3_SERVER");
  EXPECT_EQ(exchange_protocol_name(Version::Ssl3, true), "SP_PROT_SSL3_SERVER");
}

}  // namespace
}  // namespace sluice::tls
