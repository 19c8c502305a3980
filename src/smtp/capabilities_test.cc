#include "smtp/capabilities.h"

#include <gtest/gtest.h>

namespace sluice::smtp {
namespace {

TEST(ParseCapabilities, Keywords) {
  Reply r{250, "", {"mx Hello", "size 35882577", "PIPELINING", "STARTTLS", "8BITMIME", "SMTPUTF8", "AUTH LOGIN"}};
  auto caps = parse_capabilities(r);
  EXPECT_TRUE(caps.esmtp);
  EXPECT_TRUE(caps.size);
  EXPECT_EQ(caps.size_limit, 35882577u);
  EXPECT_TRUE(caps.pipelining);
  EXPECT_TRUE(caps.starttls);
  EXPECT_TRUE(caps.eight_bit_mime);
  EXPECT_TRUE(caps.smtputf8);
}

TEST(ParseCapabilities, RequireTls) {
  EXPECT_TRUE(parse_capabilities(Reply{250, "", {"mx", "requiretls"}}).requiretls);
  EXPECT_FALSE(parse_capabilities(Reply{250, "", {"mx", "STARTTLS", "REQUIRETLS2"}}).requiretls);
  EXPECT_FALSE(parse_capabilities(Reply{250, "", {"REQUIRETLS"}}).requiretls);  // the greeting line
}

TEST(ParseCapabilities, KeywordsIgnoreCaseButMustBeWhole) {
  EXPECT_TRUE(parse_capabilities(Reply{250, "", {"mx", "StartTLS"}}).starttls);
  EXPECT_FALSE(parse_capabilities(Reply{250, "", {"mx", "STARTTLSX", "X-STARTTLS", " STARTTLS"}}).starttls);
}

TEST(ParseCapabilities, FirstLineIsNotAKeywordAndBadSizeIsNoLimit) {
  Reply r{250, "", {"STARTTLS is my host name", "SIZE lots"}};
  auto caps = parse_capabilities(r);
  EXPECT_FALSE(caps.starttls);
  EXPECT_TRUE(caps.size);
  EXPECT_EQ(caps.size_limit, 0u);
  EXPECT_FALSE(parse_capabilities(Reply{250, "", {"only greeting"}}).pipelining);
  EXPECT_TRUE(parse_capabilities(Reply{250, "", {"mx", "SIZE"}}).size);
}

TEST(ParseCapabilities, ARefusedEhloOffersNothing) {
  auto caps = parse_capabilities(Reply{502, "5.5.1", {"EHLO not supported", "STARTTLS"}});
  EXPECT_FALSE(caps.esmtp);
  EXPECT_FALSE(caps.starttls);
}

}  // namespace
}  // namespace sluice::smtp

namespace sluice::smtp {
namespace {

TEST(ParseCapabilities, AuthMechanismsInEitherForm) {
  auto caps = parse_capabilities(Reply{250, "", {"mx", "AUTH plain LOGIN  XOAUTH2", "AUTH=LOGIN PLAIN CRAM-MD5"}});
  EXPECT_EQ(caps.auth_mechanisms, (std::vector<std::string>{"PLAIN", "LOGIN", "XOAUTH2", "CRAM-MD5"}));
  EXPECT_TRUE(caps.offers_auth("xoauth2"));
  EXPECT_FALSE(caps.offers_auth("XOAUTH"));
  EXPECT_TRUE(parse_capabilities(Reply{250, "", {"mx", "STARTTLS"}}).auth_mechanisms.empty());
  EXPECT_TRUE(parse_capabilities(Reply{250, "", {"mx", "AUTHX PLAIN"}}).auth_mechanisms.empty());
}

}  // namespace
}  // namespace sluice::smtp
