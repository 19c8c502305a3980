#include "smtp/command.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::smtp {
namespace {

TEST(ParseCommandTest, VerbsAreCaseInsensitive) {
  const std::pair<const char*, Verb> cases[] = {
      {"HELO", Verb::Helo}, {"ehlo", Verb::Ehlo}, {"Mail", Verb::Mail}, {"rcpt", Verb::Rcpt},
      {"DATA", Verb::Data}, {"rset", Verb::Rset}, {"NoOp", Verb::Noop}, {"quit", Verb::Quit},
      {"VRFY", Verb::Vrfy}, {"expn", Verb::Expn}, {"help", Verb::Help}, {"StartTLS", Verb::StartTls},
      {"AUTH", Verb::Auth}, {"bdat", Verb::Bdat},
  };
  for (const auto& [text, verb] : cases) {
    Command c = parse_command(text);
    EXPECT_EQ(c.verb, verb) << text;
    EXPECT_EQ(c.verb_text, text);
    EXPECT_EQ(c.argument, "");
  }
}

TEST(ParseCommandTest, Argument) {
  Command c = parse_command("MAIL FROM:<a@b.example> SIZE=10");
  EXPECT_EQ(c.verb, Verb::Mail);
  EXPECT_EQ(c.verb_text, "MAIL");
  EXPECT_EQ(c.argument, "FROM:<a@b.example> SIZE=10");

  c = parse_command("ehlo   client.example \t ");
  EXPECT_EQ(c.verb, Verb::Ehlo);
  EXPECT_EQ(c.argument, "client.example");

  c = parse_command("NOOP    ");
  EXPECT_EQ(c.verb, Verb::Noop);
  EXPECT_EQ(c.argument, "");

  c = parse_command("HELO a  b");
  EXPECT_EQ(c.argument, "a  b");
}

TEST(ParseCommandTest, Unknown) {
  Command c = parse_command("XFOO bar");
  EXPECT_EQ(c.verb, Verb::Unknown);
  EXPECT_EQ(c.verb_text, "XFOO");
  EXPECT_EQ(c.argument, "bar");

  EXPECT_EQ(parse_command("").verb, Verb::Unknown);
  EXPECT_EQ(parse_command(" MAIL FROM:<>").verb, Verb::Unknown);
  EXPECT_EQ(parse_command("MAILFROM:<>").verb, Verb::Unknown);
  EXPECT_EQ(parse_command("MAILFROM:<>").verb_text, "MAILFROM:<>");
  EXPECT_EQ(parse_command("MAIL\tFROM:<>").verb, Verb::Unknown);
  EXPECT_EQ(parse_command("STARTTLSX").verb, Verb::Unknown);
  EXPECT_EQ(parse_command("GET / HTTP/1.1").verb_text, "GET");
}

TEST(VerbNameTest, Names) {
  EXPECT_EQ(verb_name(Verb::StartTls), "STARTTLS");
  EXPECT_EQ(verb_name(Verb::Ehlo), "EHLO");
  EXPECT_EQ(verb_name(Verb::Bdat), "BDAT");
  EXPECT_EQ(verb_name(Verb::Unknown), "UNKNOWN");
  EXPECT_EQ(parse_command(verb_name(Verb::Rset)).verb, Verb::Rset);
}

PathArgument path_of(std::string_view arg, std::string_view keyword, bool utf8 = false) {
  auto r = parse_path_argument(arg, keyword, utf8);
  if (!r) {
    ADD_FAILURE() << arg << " -> " << r.error().one_line();
    return {};
  }
  return std::move(r).value();
}

/// The reply's one-line form, or "accepted".
std::string err(std::string_view arg, std::string_view keyword, bool utf8 = false) {
  auto r = parse_path_argument(arg, keyword, utf8);
  if (!r) return r.error().one_line();
  return "accepted";
}

TEST(ParsePathArgumentTest, MailFrom) {
  PathArgument p = path_of("FROM:<alice@example.com>", "FROM");
  EXPECT_FALSE(p.null_path);
  EXPECT_EQ(p.mailbox.str(), "alice@example.com");
  EXPECT_TRUE(p.params.empty());

  EXPECT_EQ(path_of("from:<alice@example.com>", "FROM").mailbox.str(), "alice@example.com");
  EXPECT_EQ(path_of("FROM: <alice@example.com>", "FROM").mailbox.str(), "alice@example.com");
  EXPECT_EQ(path_of("FROM:   <alice@example.com>", "FROM").mailbox.str(), "alice@example.com");
}

TEST(ParsePathArgumentTest, NullPath) {
  PathArgument p = path_of("FROM:<> BODY=8BITMIME", "FROM");
  EXPECT_TRUE(p.null_path);
  EXPECT_EQ(p.mailbox.str(), "");
  ASSERT_EQ(p.params.size(), 1u);
  EXPECT_EQ(p.params[0], (std::pair<std::string, std::string>{"BODY", "8BITMIME"}));

  EXPECT_EQ(err("TO:<>", "TO"), "553 5.1.3 Null recipient not allowed");
}

TEST(ParsePathArgumentTest, Parameters) {
  PathArgument p = path_of("FROM:<a@b.example> size=1000  body=8BITMIME SMTPUTF8 X-Extra-1=a+b/c", "FROM");
  ASSERT_EQ(p.params.size(), 4u);
  EXPECT_EQ(p.params[0], (std::pair<std::string, std::string>{"SIZE", "1000"}));
  EXPECT_EQ(p.params[1], (std::pair<std::string, std::string>{"BODY", "8BITMIME"}));
  EXPECT_EQ(p.params[2], (std::pair<std::string, std::string>{"SMTPUTF8", ""}));
  EXPECT_EQ(p.params[3], (std::pair<std::string, std::string>{"X-EXTRA-1", "a+b/c"}));

  PathArgument r = path_of("TO:<c@d.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c@d.example", "TO");
  ASSERT_EQ(r.params.size(), 2u);
  EXPECT_EQ(r.params[1].second, "rfc822;c@d.example");
}

TEST(ParsePathArgumentTest, ParameterErrors) {
  EXPECT_EQ(err("FROM:<a@b.example> SIZE=1 size=2", "FROM"), "501 5.5.4 Duplicate parameter SIZE");
  EXPECT_EQ(err("FROM:<a@b.example> SIZE=", "FROM"), "501 5.5.4 Invalid value for parameter SIZE");
  EXPECT_EQ(err("FROM:<a@b.example> SIZE=1=2", "FROM"), "501 5.5.4 Invalid value for parameter SIZE");
  EXPECT_EQ(err("FROM:<a@b.example> -X=1", "FROM"), "501 5.5.4 Invalid parameter keyword");
  EXPECT_EQ(err("FROM:<a@b.example> =1", "FROM"), "501 5.5.4 Invalid parameter keyword");
  EXPECT_EQ(err("FROM:<a@b.example> X_Y=1", "FROM"), "501 5.5.4 Invalid parameter keyword");
  EXPECT_EQ(err("FROM:<a@b.example> SIZE=1\t", "FROM"), "501 5.5.4 Invalid value for parameter SIZE");
  EXPECT_EQ(err("FROM:<a@b.example> X=\x01", "FROM"), "501 5.5.4 Invalid value for parameter X");
  // Non-ASCII values only with SMTPUTF8, and then only valid UTF-8.
  EXPECT_EQ(err("FROM:<a@b.example> X=\xc3\xa9", "FROM"), "501 5.5.4 Invalid value for parameter X");
  EXPECT_EQ(path_of("FROM:<a@b.example> X=\xc3\xa9", "FROM", true).params[0].second, "\xc3\xa9");
  EXPECT_EQ(err("FROM:<a@b.example> X=\xc3", "FROM", true), "501 5.5.4 Invalid value for parameter X");
  // Parameters must be separated from the path.
  EXPECT_EQ(err("FROM:<a@b.example>SIZE=1", "FROM"), "501 5.5.4 Syntax: MAIL FROM:<address>");
}

TEST(ParsePathArgumentTest, CommandSyntaxErrors) {
  EXPECT_EQ(err("", "FROM"), "501 5.5.4 Syntax: MAIL FROM:<address>");
  EXPECT_EQ(err("FROM", "FROM"), "501 5.5.4 Syntax: MAIL FROM:<address>");
  EXPECT_EQ(err("FROM:", "FROM"), "501 5.5.4 Syntax: MAIL FROM:<address>");
  EXPECT_EQ(err("FROM :<a@b.example>", "FROM"), "501 5.5.4 Syntax: MAIL FROM:<address>");
  EXPECT_EQ(err("FROM:a@b.example", "FROM"), "501 5.5.4 Syntax: MAIL FROM:<address>");
  EXPECT_EQ(err("FROM:<a@b.example", "FROM"), "501 5.5.4 Syntax: MAIL FROM:<address>");
  EXPECT_EQ(err("TO:<a@b.example>", "FROM"), "501 5.5.4 Syntax: MAIL FROM:<address>");
  EXPECT_EQ(err("FROM:<a@b.example>", "TO"), "501 5.5.4 Syntax: RCPT TO:<address>");
  EXPECT_EQ(err("TO:\"<a@b.example>\"", "TO"), "501 5.5.4 Syntax: RCPT TO:<address>");
}

TEST(ParsePathArgumentTest, QuotedGreaterThanDoesNotEndPath) {
  PathArgument p = path_of("TO:<\"a>b\"@example.com> NOTIFY=NEVER", "TO");
  EXPECT_EQ(p.mailbox.local_part, "\"a>b\"");
  EXPECT_EQ(p.mailbox.domain, "example.com");
  ASSERT_EQ(p.params.size(), 1u);
  EXPECT_EQ(p.params[0].first, "NOTIFY");

  EXPECT_EQ(path_of("TO:<\"a\\\">b\"@example.com>", "TO").mailbox.local_part, "\"a\\\">b\"");
}

TEST(ParsePathArgumentTest, AddressErrors) {
  EXPECT_EQ(err("TO:<user>", "TO"), "553 5.1.3 Bad recipient address syntax: missing domain");
  EXPECT_EQ(err("TO:<user@example.com.>", "TO"), "553 5.1.3 Bad recipient address syntax: trailing dot in domain");
  EXPECT_EQ(err("FROM:<user>", "FROM"), "501 5.1.7 Bad sender address syntax: missing domain");
  EXPECT_EQ(err("FROM:<a@b@c.example>", "FROM"), "501 5.1.7 Bad sender address syntax: more than one '@' in address");
  EXPECT_EQ(err("TO:<@a.example,@b.example:user@c.example>", "TO"), "accepted");
  EXPECT_EQ(path_of("TO:<@a.example,@b.example:user@c.example>", "TO").mailbox.str(), "user@c.example");
}

TEST(ParsePathArgumentTest, Lengths) {
  const std::string l64(64, 'x');
  EXPECT_EQ(path_of("TO:<" + l64 + "@example.com>", "TO").mailbox.local_part, l64);
  EXPECT_EQ(err("TO:<" + l64 + "x@example.com>", "TO"),
            "553 5.1.3 Bad recipient address syntax: local part longer than 64 octets");
  EXPECT_EQ(err("FROM:<" + l64 + "x@example.com>", "FROM"),
            "501 5.1.7 Bad sender address syntax: local part longer than 64 octets");

  // "<" + 254 octets + ">" is the longest path (RFC 5321 4.5.3.1.3).
  const std::string label(63, 'd');
  const std::string domain = label + "." + label + "." + label + "." + std::string(58, 'd');  // 250
  const std::string at254 = "abc@" + domain;
  ASSERT_EQ(at254.size(), 254u);
  EXPECT_EQ(path_of("TO:<" + at254 + ">", "TO").mailbox.str(), at254);
  EXPECT_EQ(err("TO:<a" + at254 + ">", "TO"), "553 5.1.3 Bad recipient address syntax: address longer than 256 octets");
}

TEST(ParsePathArgumentTest, PostmasterWithoutDomain) {
  PathArgument p = path_of("TO:<Postmaster>", "TO");
  EXPECT_FALSE(p.null_path);
  EXPECT_EQ(p.mailbox.local_part, "Postmaster");
  EXPECT_EQ(p.mailbox.domain, "");
  EXPECT_EQ(path_of("to:<postMASTER> NOTIFY=NEVER", "TO").mailbox.local_part, "postMASTER");
  EXPECT_EQ(path_of("TO:<postmaster@example.com>", "TO").mailbox.domain, "example.com");
  // Only for recipients, and only that exact word.
  EXPECT_EQ(err("FROM:<Postmaster>", "FROM"), "501 5.1.7 Bad sender address syntax: missing domain");
  EXPECT_EQ(err("TO:<Postmasters>", "TO"), "553 5.1.3 Bad recipient address syntax: missing domain");
}

TEST(ParsePathArgumentTest, NonAscii) {
  EXPECT_EQ(err("TO:<j\xc3\xb6rg@example.com>", "TO"), "553 5.6.7 Non-ASCII address requires SMTPUTF8");
  EXPECT_EQ(err("FROM:<a@b\xc3\xbc"
                "cher.example>",
                "FROM"),
            "553 5.6.7 Non-ASCII address requires SMTPUTF8");
  EXPECT_EQ(path_of("TO:<j\xc3\xb6rg@example.com>", "TO", true).mailbox.local_part, "j\xc3\xb6rg");
  EXPECT_EQ(err("TO:<j\xc3@example.com>", "TO", true),
            "553 5.1.3 Bad recipient address syntax: invalid UTF-8 in address");
}

}  // namespace
}  // namespace sluice::smtp
