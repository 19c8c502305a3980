#include "inbound/received_header.h"

#include <gtest/gtest.h>

namespace sluice::inbound {
namespace {

ReceivedInfo sample() {
  ReceivedInfo info;
  info.helo = "client.example";
  info.client_address = "192.0.2.1";
  info.hostname = "mx.example.org";
  info.connector = "Default Frontend";
  info.tls_version = "TLS1_3";
  info.tls_cipher = "TLS_AES_256_GCM_SHA384";
  info.queue_id = "0123456789ABCDEF";
  info.single_recipient = "bob@example.org";
  info.time =
      std::chrono::sys_days{std::chrono::November / 27 / 2026} + std::chrono::hours{3} + std::chrono::minutes{30};
  return info;
}

TEST(ReceivedHeader, CarriesTlsVersionAndCipherAsExchangeWritesThem) {
  EXPECT_EQ(received_header(sample()),
            "Received: from client.example ([192.0.2.1]) by mx.example.org (sluice)\r\n"
            "\twith ESMTPS (version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384)\r\n"
            "\t(connector \"Default Frontend\") id 0123456789ABCDEF\r\n"
            "\tfor <bob@example.org>; Fri, 27 Nov 2026 03:30:00 +0000\r\n");
}

TEST(ReceivedHeader, PlaintextHasNoTlsCommentAndIpv6IsTagged) {
  auto info = sample();
  info.tls_version.clear();
  info.client_address = "2001:db8::1";
  info.single_recipient.clear();
  std::string h = received_header(info);
  EXPECT_NE(h.find("([IPv6:2001:db8::1])"), std::string::npos);
  EXPECT_NE(h.find("with ESMTP\r\n"), std::string::npos);
  EXPECT_EQ(h.find("version="), std::string::npos);
  EXPECT_EQ(h.find("for <"), std::string::npos);
}

TEST(ReceivedHeader, WithProtocolNames) {
  auto info = sample();
  EXPECT_EQ(with_protocol(info), "ESMTPS");
  info.smtputf8 = true;
  EXPECT_EQ(with_protocol(info), "UTF8SMTPS");
  info.tls_version.clear();
  EXPECT_EQ(with_protocol(info), "UTF8SMTP");
  info.smtputf8 = false;
  info.esmtp = false;
  EXPECT_EQ(with_protocol(info), "SMTP");
}

TEST(ReceivedHeader, AuthenticatedSessionsSayWhoAndUseTheAProtocolNames) {
  auto info = sample();
  info.authenticated_user = "scanner1";
  EXPECT_EQ(received_header(info),
            "Received: from client.example ([192.0.2.1]) by mx.example.org (sluice)\r\n"
            "\twith ESMTPSA (version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384)\r\n"
            "\t(authenticated as \"scanner1\")\r\n"
            "\t(connector \"Default Frontend\") id 0123456789ABCDEF\r\n"
            "\tfor <bob@example.org>; Fri, 27 Nov 2026 03:30:00 +0000\r\n");
  info.tls_version.clear();
  EXPECT_EQ(with_protocol(info), "ESMTPA");
  info.smtputf8 = true;
  EXPECT_EQ(with_protocol(info), "UTF8SMTPA");
  info.tls_version = "TLS1_2";
  EXPECT_EQ(with_protocol(info), "UTF8SMTPSA");
}

TEST(ReceivedHeader, ClientTextCannotInjectHeaderLinesOrCloseComments) {
  auto info = sample();
  info.helo = "evil)\r\nX-Injected: yes";
  std::string h = received_header(info);
  EXPECT_EQ(h.find("X-Injected: yes\r\n"), std::string::npos);
  EXPECT_NE(h.find("from evil]??X-Injected: yes ([192.0.2.1])"), std::string::npos);
}

}  // namespace
}  // namespace sluice::inbound

namespace sluice::inbound {
namespace {

TEST(ReceivedHeader, ParenthesesInConnectorNamesStayBalanced) {
  auto info = sample();
  info.connector = "Partner (TLS required)";
  EXPECT_NE(received_header(info).find("(connector \"Partner [TLS required]\")"), std::string::npos);
}

}  // namespace
}  // namespace sluice::inbound
