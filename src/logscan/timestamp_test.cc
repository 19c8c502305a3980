#include "logscan/timestamp.h"

#include <gtest/gtest.h>

namespace sluice::logscan {
namespace {

constexpr Millis k2023_01_11 = 1673395200000;  // 2023-01-11T00:00:00Z

TEST(Timestamp, ExchangeStampWithMilliseconds) {
  EXPECT_EQ(parse_iso8601("2023-01-11T16:00:01.010Z"), k2023_01_11 + 16 * 3600000 + 1010);
}

TEST(Timestamp, FractionDigitsFromNoneToNineAndZones) {
  EXPECT_EQ(parse_iso8601("2023-01-11T00:00:01Z"), k2023_01_11 + 1000);
  EXPECT_EQ(parse_iso8601("2023-01-11T00:00:01.5Z"), k2023_01_11 + 1500);
  EXPECT_EQ(parse_iso8601("2023-01-11T00:00:01.1234567Z"), k2023_01_11 + 1123);
  EXPECT_EQ(parse_iso8601("2023-01-11T01:00:01.123456+01:00"), k2023_01_11 + 1123);
  EXPECT_EQ(parse_iso8601("2023-01-10T23:00:00-0100"), k2023_01_11);
  EXPECT_EQ(parse_iso8601("2023-01-11T00:00:00"), k2023_01_11);  // no zone: UTC
}

TEST(Timestamp, ReportsHowMuchWasConsumed) {
  std::size_t used = 0;
  ASSERT_TRUE(parse_iso8601("2026-11-27T07:00:01.123456+00:00 host postfix/smtpd[1]: x", &used));
  EXPECT_EQ(used, 32u);
}

TEST(Timestamp, RejectsImpossibleAndGarbage) {
  EXPECT_FALSE(parse_iso8601("2023-02-30T00:00:00Z"));
  EXPECT_FALSE(parse_iso8601("2023-01-11T24:00:00Z"));
  EXPECT_FALSE(parse_iso8601("2023-01-11 00:00:00Z"));
  EXPECT_FALSE(parse_iso8601("2023-01-11T00:00"));
  EXPECT_FALSE(parse_iso8601("2023-01-11T00:00:00.Z"));
  EXPECT_FALSE(parse_iso8601(""));
  EXPECT_FALSE(parse_iso8601("#Fields: date-time"));
}

TEST(Timestamp, SyslogStampTakesTheGivenYear) {
  EXPECT_EQ(parse_syslog_time("Jan 11 16:00:01 vm postfix", 2023), k2023_01_11 + 16 * 3600000 + 1000);
  EXPECT_EQ(parse_syslog_time("Jan  1 00:00:00 vm", 2023), k2023_01_11 - 10 * 86400000LL);
  EXPECT_FALSE(parse_syslog_time("Feb 29 00:00:00 vm", 2023));
  EXPECT_TRUE(parse_syslog_time("Feb 29 00:00:00 vm", 2024));
  EXPECT_FALSE(parse_syslog_time("Foo 11 16:00:01 vm", 2023));
  EXPECT_FALSE(parse_syslog_time("Jan 11 16:00", 2023));
}

TEST(Timestamp, CommandLineArguments) {
  EXPECT_EQ(parse_time_argument("2023-01-11"), k2023_01_11);
  EXPECT_EQ(parse_time_argument("2023-01-11T07"), k2023_01_11 + 7 * 3600000);
  EXPECT_EQ(parse_time_argument("2023-01-11T07:30"), k2023_01_11 + 7 * 3600000 + 30 * 60000);
  EXPECT_EQ(parse_time_argument("2023-01-11 07:30:05Z"), k2023_01_11 + 7 * 3600000 + 30 * 60000 + 5000);
  EXPECT_FALSE(parse_time_argument("yesterday"));
  EXPECT_FALSE(parse_time_argument("2023-01-11T7"));
  EXPECT_FALSE(parse_time_argument("2023-13-01"));
}

TEST(Timestamp, FormatsRoundTrip) {
  Millis t = k2023_01_11 + 16 * 3600000 + 1010;
  EXPECT_EQ(format_iso(t), "2023-01-11T16:00:01.010Z");
  EXPECT_EQ(format_bucket(t, false), "2023-01-11 16:00");
  EXPECT_EQ(format_bucket(t, true), "2023-01-11");
  EXPECT_EQ(parse_iso8601(format_iso(t)), t);
  EXPECT_EQ(format_iso(kNoTime), "");
}

}  // namespace
}  // namespace sluice::logscan
