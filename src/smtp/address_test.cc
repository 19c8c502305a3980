#include "smtp/address.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::smtp {
namespace {

Mailbox mailbox_of(std::string_view text, bool utf8 = false) {
  auto m = parse_mailbox(text, utf8);
  EXPECT_TRUE(m.has_value()) << text << ": " << (m ? "" : m.error().message);
  return m.value_or(Mailbox{});
}

std::string error(std::string_view text, bool utf8 = false) {
  auto m = parse_mailbox(text, utf8);
  EXPECT_FALSE(m.has_value()) << text << " accepted as " << (m ? m->str() : "");
  if (m) return "";
  EXPECT_FALSE(m.error().message.empty()) << text;
  return m.error().message;
}

TEST(ParseMailboxTest, Simple) {
  Mailbox m = mailbox_of("User.Name+tag@Mail.Example.COM");
  EXPECT_EQ(m.local_part, "User.Name+tag");
  EXPECT_EQ(m.domain, "Mail.Example.COM");
  EXPECT_EQ(m.domain_key(), "mail.example.com");
  EXPECT_EQ(m.str(), "User.Name+tag@Mail.Example.COM");
  EXPECT_FALSE(m.domain_is_literal());
  EXPECT_FALSE(m.has_routing_characters());
}

TEST(ParseMailboxTest, AllAtextCharacters) {
  Mailbox m = mailbox_of("!#$&'*+-/=?^_`{|}~09az@x1-y.example");
  EXPECT_EQ(m.local_part, "!#$&'*+-/=?^_`{|}~09az");
  EXPECT_EQ(m.domain, "x1-y.example");
}

TEST(ParseMailboxTest, ShortLocalParts) {
  EXPECT_EQ(mailbox_of("a@example.com").local_part, "a");
  EXPECT_EQ(mailbox_of("ab@example.com").local_part, "ab");
  EXPECT_EQ(mailbox_of("\"a\"@example.com").local_part, "\"a\"");
}

TEST(ParseMailboxTest, SingleLabelDomain) { EXPECT_EQ(mailbox_of("root@localhost").domain, "localhost"); }

TEST(ParseMailboxTest, QuotedLocalPart) {
  Mailbox m = mailbox_of("\"john doe\"@example.com");
  EXPECT_EQ(m.local_part, "\"john doe\"");
  EXPECT_EQ(m.str(), "\"john doe\"@example.com");
  EXPECT_FALSE(m.has_routing_characters());

  EXPECT_EQ(mailbox_of(R"("a\"b\\c"@example.com)").local_part, R"("a\"b\\c")");
  EXPECT_EQ(mailbox_of("\"a.>.b\"@example.com").local_part, "\"a.>.b\"");
}

TEST(ParseMailboxTest, RoutingCharacters) {
  EXPECT_TRUE(mailbox_of("a%b@example.com").has_routing_characters());
  EXPECT_TRUE(mailbox_of("host!user@example.com").has_routing_characters());
  EXPECT_TRUE(mailbox_of("\"a@b\"@example.com").has_routing_characters());
  EXPECT_TRUE(mailbox_of("\"a%b\"@example.com").has_routing_characters());
  EXPECT_FALSE(mailbox_of("a.b-c@example.com").has_routing_characters());
}

TEST(ParseMailboxTest, AddressLiterals) {
  Mailbox v4 = mailbox_of("postmaster@[192.0.2.1]");
  EXPECT_EQ(v4.domain, "[192.0.2.1]");
  EXPECT_TRUE(v4.domain_is_literal());
  Mailbox v6 = mailbox_of("a@[IPv6:2001:db8::1]");
  EXPECT_EQ(v6.domain, "[IPv6:2001:db8::1]");
  EXPECT_TRUE(v6.domain_is_literal());
  EXPECT_EQ(mailbox_of("a@[ipv6:::ffff:192.0.2.1]").domain, "[ipv6:::ffff:192.0.2.1]");
  EXPECT_EQ(mailbox_of("a@[0.0.0.0]").domain, "[0.0.0.0]");

  EXPECT_EQ(error("a@[192.0.2.256]"), "invalid IPv4 address literal");
  EXPECT_EQ(error("a@[192.0.2]"), "invalid IPv4 address literal");
  EXPECT_EQ(error("a@[192.0.2.1.5]"), "invalid IPv4 address literal");
  EXPECT_EQ(error("a@[1922.0.2.1]"), "invalid IPv4 address literal");
  EXPECT_EQ(error("a@[192.0.2.1."), "unterminated address literal");
  EXPECT_EQ(error("a@[192.0.2.1"), "unterminated address literal");
  EXPECT_EQ(error("a@[]"), "unterminated address literal");
  EXPECT_EQ(error("a@[IPv6:2001:db8::g]"), "invalid IPv6 address literal");
  EXPECT_EQ(error("a@[IPv6:]"), "invalid IPv6 address literal");
  EXPECT_EQ(error("a@[IPv6:192.0.2.1]"), "invalid IPv6 address literal");
  EXPECT_EQ(error("a@[2001:db8::1]"), "unsupported address literal");
  EXPECT_EQ(error("a@[x-tag:foo]"), "unsupported address literal");
}

TEST(ParseMailboxTest, SourceRouteDropped) {
  Mailbox m = mailbox_of("@a.example,@b.example:user@c.example");
  EXPECT_EQ(m.str(), "user@c.example");
  EXPECT_EQ(mailbox_of("@a.example:user@c.example").str(), "user@c.example");
  EXPECT_EQ(error("@a.example,user@c.example"), "source route without ':'");
  EXPECT_EQ(error("@a..example:user@c.example"), "invalid domain in source route");
  EXPECT_EQ(error("@a.example,:user@c.example"), "invalid source route");
  EXPECT_EQ(error("@a.example,b.example:user@c.example"), "invalid source route");
  EXPECT_EQ(error("@a.example:"), "empty address");
}

TEST(ParseMailboxTest, DomainErrors) {
  EXPECT_EQ(error("user"), "missing domain");
  EXPECT_EQ(error("user@"), "missing domain");
  EXPECT_EQ(error("user@example.com."), "trailing dot in domain");
  EXPECT_EQ(error("user@.example.com"), "empty label in domain");
  EXPECT_EQ(error("user@example..com"), "empty label in domain");
  EXPECT_EQ(error("user@-example.com"), "domain label starts or ends with a hyphen");
  EXPECT_EQ(error("user@example-.com"), "domain label starts or ends with a hyphen");
  EXPECT_EQ(error("user@exa_mple.com"), "invalid character in domain");
  EXPECT_EQ(error("user@exa mple.com"), "invalid character in domain");
  EXPECT_EQ(error("a@b@example.com"), "more than one '@' in address");
  EXPECT_EQ(error("\"a\"@b@example.com"), "more than one '@' in address");

  const std::string label63(63, 'a');
  EXPECT_EQ(mailbox_of("u@" + label63 + ".example").domain, label63 + ".example");
  EXPECT_EQ(error("u@" + label63 + "a.example"), "domain label longer than 63 octets");

  // 4 labels of 63 + 3 dots = 255: the maximum.
  const std::string d255 = label63 + "." + label63 + "." + label63 + "." + label63;
  ASSERT_EQ(d255.size(), 255u);
  EXPECT_EQ(mailbox_of("u@" + d255).domain, d255);
  EXPECT_EQ(error("u@b." + d255), "domain longer than 255 octets");
}

TEST(ParseMailboxTest, LocalPartErrors) {
  EXPECT_EQ(error(""), "empty address");
  EXPECT_EQ(error("@example.com"), "source route without ':'");
  EXPECT_EQ(error(".user@example.com"), "local part starts with a dot");
  EXPECT_EQ(error("user.@example.com"), "local part ends with a dot");
  EXPECT_EQ(error("us..er@example.com"), "consecutive dots in local part");
  EXPECT_EQ(error("us er@example.com"), "invalid character in local part");
  EXPECT_EQ(error("us(er)@example.com"), "invalid character in local part");
  EXPECT_EQ(error("us\ter@example.com"), "control character in local part");
  EXPECT_EQ(error("\"\"@example.com"), "empty local part");
  EXPECT_EQ(error("\"abc@example.com"), "unterminated quoted local part");
  EXPECT_EQ(error("\"abc\\"), "unterminated quoted local part");
  EXPECT_EQ(error("\"a\"b@example.com"), "unexpected text after quoted local part");
  EXPECT_EQ(error("\"a\tb\"@example.com"), "control character in local part");
  EXPECT_EQ(error("\"a\\\tb\"@example.com"), "invalid quoted pair in local part");
  EXPECT_EQ(error("\"ab\""), "missing domain");

  const std::string l64(64, 'x');
  EXPECT_EQ(mailbox_of(l64 + "@example.com").local_part, l64);
  EXPECT_EQ(error(l64 + "x@example.com"), "local part longer than 64 octets");
  // Quotes count: they are part of the local part as transmitted.
  EXPECT_EQ(error("\"" + std::string(63, 'x') + "\"@example.com"), "local part longer than 64 octets");
}

TEST(ParseMailboxTest, Utf8OnlyWhenAllowed) {
  const std::string local = "j\xc3\xb6rg@example.com";  // jörg
  const std::string domain =
      "a@b\xc3\xbc"
      "cher.example";  // bücher
  EXPECT_EQ(error(local), "non-ASCII character in address");
  EXPECT_EQ(error(domain), "non-ASCII character in address");
  EXPECT_EQ(mailbox_of(local, true).local_part, "j\xc3\xb6rg");
  EXPECT_EQ(mailbox_of(domain, true).domain,
            "b\xc3\xbc"
            "cher.example");
  EXPECT_EQ(mailbox_of("\"\xe2\x82\xac x\"@example.com", true).local_part, "\"\xe2\x82\xac x\"");

  EXPECT_EQ(error("j\xc3rg@example.com", true), "invalid UTF-8 in address");            // truncated
  EXPECT_EQ(error("j\xc0\xafrg@example.com", true), "invalid UTF-8 in address");        // overlong '/'
  EXPECT_EQ(error("j\xed\xa0\x80@example.com", true), "invalid UTF-8 in address");      // surrogate
  EXPECT_EQ(error("j\xf4\x90\x80\x80@example.com", true), "invalid UTF-8 in address");  // > U+10FFFF
  EXPECT_EQ(error("j@example.com\xc3", true), "invalid UTF-8 in address");
}

TEST(MailboxTest, StrWithoutDomain) {
  Mailbox m{"Postmaster", ""};
  EXPECT_EQ(m.str(), "Postmaster");
  EXPECT_FALSE(m.domain_is_literal());
  EXPECT_EQ(m.domain_key(), "");
}

}  // namespace
}  // namespace sluice::smtp
