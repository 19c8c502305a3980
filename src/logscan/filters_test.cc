#include "logscan/filters.h"

#include <gtest/gtest.h>

namespace sluice::logscan {
namespace {

TEST(Filters, EmptyAcceptsEverything) {
  Filters f;
  EXPECT_TRUE(f.empty());
  EXPECT_TRUE(f.accepts(kNoTime, Direction::Outbound, "", ""));
}

TEST(Filters, TimeRangeIsHalfOpen) {
  Filters f;
  f.since = 1000;
  f.until = 2000;
  EXPECT_FALSE(f.accepts(999, Direction::Inbound, "c", "1.2.3.4"));
  EXPECT_TRUE(f.accepts(1000, Direction::Inbound, "c", "1.2.3.4"));
  EXPECT_FALSE(f.accepts(2000, Direction::Inbound, "c", "1.2.3.4"));
  EXPECT_FALSE(f.accepts(kNoTime, Direction::Inbound, "c", "1.2.3.4"));
}

TEST(Filters, ConnectorRemoteAndDirection) {
  Filters f;
  f.connectors = {"Default", "Partner"};
  f.remotes = {*net::Cidr::parse("192.0.2.0/24"), *net::Cidr::parse("2001:db8::/32")};
  f.direction = Direction::Inbound;
  EXPECT_TRUE(f.accepts(1, Direction::Inbound, "Partner", "192.0.2.77"));
  EXPECT_TRUE(f.accepts(1, Direction::Inbound, "Default", "2001:db8::1"));
  EXPECT_FALSE(f.accepts(1, Direction::Outbound, "Partner", "192.0.2.77"));
  EXPECT_FALSE(f.accepts(1, Direction::Inbound, "Other", "192.0.2.77"));
  EXPECT_FALSE(f.accepts(1, Direction::Inbound, "Default", "198.51.100.1"));
  EXPECT_FALSE(f.accepts(1, Direction::Inbound, "Default", "10.**.**.168"));  // masked: not an address
  EXPECT_FALSE(f.accepts(1, Direction::Inbound, "Default", ""));
}

TEST(Filters, ExcludedRemotesAreLeftOutAndEverythingElseKept) {
  Filters f;
  f.excluded_remotes = {*net::Cidr::parse("198.51.100.7"), *net::Cidr::parse("2001:db8:5::/48")};
  EXPECT_FALSE(f.empty());
  EXPECT_FALSE(f.accepts(1, Direction::Inbound, "Default", "198.51.100.7"));
  EXPECT_FALSE(f.accepts(1, Direction::Inbound, "Default", "::ffff:198.51.100.7"));  // IPv4-mapped
  EXPECT_FALSE(f.accepts(1, Direction::Inbound, "Default", "2001:db8:5::25"));
  EXPECT_TRUE(f.accepts(1, Direction::Inbound, "Default", "198.51.100.8"));
  EXPECT_TRUE(f.accepts(1, Direction::Inbound, "Default", "2001:db8:6::25"));
  // Without an address there is nothing to exclude: kept (unlike --remote, which keeps only matches).
  EXPECT_TRUE(f.accepts(1, Direction::Inbound, "Default", ""));
  EXPECT_TRUE(f.accepts(1, Direction::Inbound, "Default", "10.**.**.168"));
  // With --remote as well: inside the range and not excluded.
  f.remotes = {*net::Cidr::parse("198.51.100.0/24")};
  EXPECT_TRUE(f.accepts(1, Direction::Inbound, "Default", "198.51.100.9"));
  EXPECT_FALSE(f.accepts(1, Direction::Inbound, "Default", "198.51.100.7"));
  EXPECT_FALSE(f.accepts(1, Direction::Inbound, "Default", "192.0.2.1"));
}

TEST(Filters, EndpointAddress) {
  EXPECT_EQ(endpoint_ip("10.0.0.1:25"), "10.0.0.1");
  EXPECT_EQ(endpoint_ip("[2001:db8::1]:25"), "2001:db8::1");
  EXPECT_EQ(endpoint_ip("2001:db8::1"), "2001:db8::1");
  EXPECT_EQ(endpoint_ip("10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(endpoint_ip(""), "");
}

}  // namespace
}  // namespace sluice::logscan
