#include "net/cidr.h"

#include <gtest/gtest.h>

namespace sluice::net {
namespace {

asio::ip::address ip(const char* text) { return asio::ip::make_address(text); }

TEST(Cidr, ParsesIpv4Range) {
  auto c = Cidr::parse("10.0.0.0/8");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->is_v4());
  EXPECT_EQ(c->prefix_length(), 8);
  EXPECT_EQ(c->str(), "10.0.0.0/8");
  EXPECT_TRUE(c->contains(ip("10.255.1.2")));
  EXPECT_TRUE(c->contains(ip("10.0.0.0")));
  EXPECT_FALSE(c->contains(ip("11.0.0.0")));
  EXPECT_FALSE(c->contains(ip("9.255.255.255")));
}

TEST(Cidr, ParsesIpv6Range) {
  auto c = Cidr::parse("2001:db8::/32");
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->is_v4());
  EXPECT_EQ(c->prefix_length(), 32);
  EXPECT_EQ(c->str(), "2001:db8::/32");
  EXPECT_TRUE(c->contains(ip("2001:db8:ffff::1")));
  EXPECT_FALSE(c->contains(ip("2001:db9::1")));
}

TEST(Cidr, PrefixNotOnByteBoundary) {
  auto c = Cidr::parse("192.0.2.64/26");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->contains(ip("192.0.2.64")));
  EXPECT_TRUE(c->contains(ip("192.0.2.127")));
  EXPECT_FALSE(c->contains(ip("192.0.2.128")));
  EXPECT_FALSE(c->contains(ip("192.0.2.63")));
}

TEST(Cidr, BareAddressIsHostRange) {
  auto v4 = Cidr::parse("192.0.2.1");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->prefix_length(), 32);
  EXPECT_EQ(v4->str(), "192.0.2.1/32");
  EXPECT_TRUE(v4->contains(ip("192.0.2.1")));
  EXPECT_FALSE(v4->contains(ip("192.0.2.2")));
  auto v6 = Cidr::parse("::1");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->prefix_length(), 128);
  EXPECT_EQ(v6->str(), "::1/128");
  EXPECT_TRUE(v6->contains(ip("::1")));
}

TEST(Cidr, ZeroPrefixMatchesItsFamilyOnly) {
  auto all4 = Cidr::parse("0.0.0.0/0");
  auto all6 = Cidr::parse("::/0");
  ASSERT_TRUE(all4 && all6);
  EXPECT_TRUE(all4->contains(ip("203.0.113.9")));
  EXPECT_FALSE(all4->contains(ip("2001:db8::1")));
  EXPECT_TRUE(all6->contains(ip("2001:db8::1")));
  EXPECT_FALSE(all6->contains(ip("203.0.113.9")));
}

TEST(Cidr, Ipv4MappedClientMatchesIpv4Range) {
  auto c = Cidr::parse("10.0.0.0/8");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->contains(ip("::ffff:10.1.2.3")));
  EXPECT_FALSE(c->contains(ip("::ffff:11.1.2.3")));
  // A mapped client is an IPv4 client: the IPv6 catch-all does not claim it.
  EXPECT_FALSE(Cidr::parse("::/0")->contains(ip("::ffff:10.1.2.3")));
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0")->contains(ip("::ffff:10.1.2.3")));
}

TEST(Cidr, MappedRangeBecomesIpv4Range) {
  auto c = Cidr::parse("::ffff:10.0.0.0/104");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->is_v4());
  EXPECT_EQ(c->prefix_length(), 8);
  EXPECT_EQ(c->str(), "10.0.0.0/8");
  EXPECT_TRUE(c->contains(ip("10.9.9.9")));
  EXPECT_EQ(*c, *Cidr::parse("10.0.0.0/8"));
}

/// The reason parse() gives, or "accepted".
std::string why(std::string_view text) {
  auto cidr = Cidr::parse(text);
  return cidr ? std::string("accepted") : cidr.error().message;
}

TEST(Cidr, HostBitsAreAnErrorThatExplains) {
  EXPECT_EQ(why("10.1.2.3/8"),
            "\"10.1.2.3/8\" has host bits set below the /8 prefix: the network is \"10.0.0.0/8\" "
            "(write that for the whole range, or \"10.1.2.3\" for this one address)");
  EXPECT_NE(why("2001:db8::1/32").find("the network is \"2001:db8::/32\""), std::string::npos) << why("2001:db8::1/32");
  EXPECT_FALSE(Cidr::parse("192.0.2.65/26"));
}

TEST(Cidr, RejectsBadInput) {
  for (const char* text : {"", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8/8",
                           "10.0.0/8", "mail.example.org", "10.0.0.0 /8", " 10.0.0.0/8", "fe80::1%eth0",
                           "10.0.0.0/0008", "256.0.0.0/8", "010.0.0.0/8"}) {
    EXPECT_FALSE(Cidr::parse(text)) << text;
    EXPECT_NE(why(text), "accepted") << text;
    EXPECT_FALSE(why(text).empty()) << text;
    EXPECT_EQ(why(text).find('\n'), std::string::npos);
  }
}

TEST(Cidr, ErrorMessagesNameTheProblem) {
  EXPECT_EQ(why("10.0.0.0/33"), "\"10.0.0.0/33\": the prefix length after '/' must be a number from 0 to 32");
  EXPECT_EQ(why("::/200"), "\"::/200\": the prefix length after '/' must be a number from 0 to 128");
  EXPECT_NE(why("mail.example.org/24").find("is not an address range"), std::string::npos);
  EXPECT_NE(why("fe80::%eth0/64").find("zone index"), std::string::npos);
}

TEST(Cidr, EqualityComparesNetworkAndPrefix) {
  EXPECT_EQ(*Cidr::parse("10.0.0.0/8"), *Cidr::parse("10.0.0.0/8"));
  EXPECT_NE(*Cidr::parse("10.0.0.0/8"), *Cidr::parse("10.0.0.0/16"));
  EXPECT_NE(*Cidr::parse("0.0.0.0/0"), *Cidr::parse("::/0"));
  EXPECT_EQ(*Cidr::parse("2001:db8:0::/32"), *Cidr::parse("2001:db8::/32"));
}

}  // namespace
}  // namespace sluice::net
