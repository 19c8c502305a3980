#include "logscan/format_detect.h"

#include <gtest/gtest.h>

namespace sluice::logscan {
namespace {

TEST(FormatDetect, HeadersDecide) {
  Header h;
  EXPECT_TRUE(h.read("#Log-type: SMTP Send Protocol Log"));
  EXPECT_TRUE(
      h.read("#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,"
             "event,data,context"));
  EXPECT_EQ(h.fields.size(), 9u);
  EXPECT_EQ(h.direction, Direction::Outbound);
  EXPECT_EQ(classify(h, "anything"), Format::ExchangeProtocol);
  EXPECT_FALSE(h.read("2026-11-27T07:00:00.000Z,x"));

  Header t;
  t.read("#Fields: date-time,client-ip,event-id,recipient-status");
  EXPECT_EQ(classify(t, ""), Format::MessageTracking);
}

TEST(FormatDetect, WithoutHeaderTheLineDecides) {
  Header none;
  EXPECT_EQ(classify(none, "2019-11-04T06:00:35.402Z,C,08D760DF231F00BC,27,a,b,*,,Received certificate"),
            Format::ExchangeProtocol);
  EXPECT_EQ(classify(none, "Nov 27 02:10:11 vm postfix/smtpd[4101]: connect from x[1.2.3.4]"), Format::Postfix);
  EXPECT_EQ(classify(none, "2026-11-27T07:00:01.123456+00:00 host postfix/smtpd[123]: x"), Format::Postfix);
  EXPECT_EQ(classify(none, "-----BEGIN CERTIFICATE-----"), Format::Unknown);
  EXPECT_EQ(classify(none, "2026-11-27T07:00:00.000Z,only,three"), Format::Unknown);
  EXPECT_EQ(classify(none, ""), Format::Unknown);
}

TEST(FormatDetect, NamesAndDirectionFromFileName) {
  EXPECT_EQ(format_name(Format::ExchangeProtocol, Direction::Inbound), "exchange-receive");
  EXPECT_EQ(format_name(Format::ExchangeProtocol, std::nullopt), "exchange-protocol");
  EXPECT_EQ(format_name(Format::Postfix, std::nullopt), "postfix");
  EXPECT_EQ(direction_from_name("/logs/SmtpSend/SEND2023011116-1.LOG"), Direction::Outbound);
  EXPECT_EQ(direction_from_name("RECV2023011116-1.LOG"), Direction::Inbound);
  EXPECT_EQ(direction_from_name("/x/RECV/maillog"), std::nullopt);
}

}  // namespace
}  // namespace sluice::logscan
