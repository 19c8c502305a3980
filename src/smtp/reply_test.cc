#include "smtp/reply.h"

#include <gtest/gtest.h>

namespace sluice::smtp {
namespace {

using namespace std::literals;

TEST(ReplyTest, SingleLineWire) {
  EXPECT_EQ(make_reply(250, "2.0.0", "OK").wire(), "250 2.0.0 OK\r\n");
  EXPECT_EQ(make_reply(220, "", "mx.example ESMTP").wire(), "220 mx.example ESMTP\r\n");
}

TEST(ReplyTest, MultiLineWire) {
  Reply r{250, "", {"mx Hello", "SIZE 100", "STARTTLS"}};
  EXPECT_EQ(r.wire(), "250-mx Hello\r\n250-SIZE 100\r\n250 STARTTLS\r\n");
  Reply e{451, "4.7.0", {"first", "last"}};
  EXPECT_EQ(e.wire(), "451-4.7.0 first\r\n451 4.7.0 last\r\n");
}

TEST(ReplyTest, EmptyLinesGiveOneBareLine) {
  EXPECT_EQ((Reply{250, "2.0.0", {}}).wire(), "250 2.0.0\r\n");
  EXPECT_EQ((Reply{250, "", {}}).wire(), "250\r\n");
  EXPECT_EQ((Reply{250, "2.0.0", {}}).one_line(), "250 2.0.0");
  EXPECT_EQ((Reply{250, "", {}}).one_line(), "250");
  EXPECT_EQ(make_reply(354, "", "").wire(), "354\r\n");
}

TEST(ReplyTest, CrLfInTextCannotForgeLines) {
  EXPECT_EQ(make_reply(250, "", "a\r\n250 injected").wire(), "250 a  250 injected\r\n");
}

TEST(ReplyTest, OneLine) {
  EXPECT_EQ(make_reply(250, "2.0.0", "Queued as 08D7").one_line(), "250 2.0.0 Queued as 08D7");
  Reply r{250, "", {"mx Hello", "SIZE 100", "STARTTLS"}};
  EXPECT_EQ(r.one_line(), "250-mx Hello 250-SIZE 100 250 STARTTLS");
}

TEST(ReplyTest, Classes) {
  EXPECT_TRUE(make_reply(250, "2.0.0", "x").positive());
  EXPECT_TRUE(make_reply(354, "", "x").positive());
  EXPECT_TRUE(make_reply(421, "4.4.2", "x").transient());
  EXPECT_FALSE(make_reply(421, "4.4.2", "x").permanent());
  EXPECT_TRUE(make_reply(554, "5.7.3", "x").permanent());
  EXPECT_FALSE(make_reply(554, "5.7.3", "x").positive());
}

TEST(ParseConfiguredReplyTest, Accepts) {
  Reply r;
  ASSERT_TRUE(parse_configured_reply("530 5.7.0 Must issue a STARTTLS command first", r));
  EXPECT_EQ(r.code, 530);
  EXPECT_EQ(r.enhanced, "5.7.0");
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0], "Must issue a STARTTLS command first");
  EXPECT_EQ(r.wire(), "530 5.7.0 Must issue a STARTTLS command first\r\n");

  ASSERT_TRUE(parse_configured_reply("450 4.4.317 Cannot connect to remote server", r));
  EXPECT_EQ(r.code, 450);
  EXPECT_EQ(r.enhanced, "4.4.317");
  ASSERT_TRUE(parse_configured_reply("451 5.7.3 Must issue a STARTTLS command first", r));
  EXPECT_EQ(r.code, 451);
  EXPECT_EQ(r.enhanced, "5.7.3");
  EXPECT_EQ(r.wire(), "451 5.7.3 Must issue a STARTTLS command first\r\n");
  ASSERT_TRUE(parse_configured_reply("554 5.123.1 x", r));
  EXPECT_EQ(r.enhanced, "5.123.1");
}

TEST(ParseConfiguredReplyTest, RejectsMalformed) {
  const std::string_view bad[] = {
      ""sv,
      "451"sv,
      "451 "sv,
      "451 4.7.0"sv,      // no text
      "451 4.7.0 "sv,     // empty text
      "451 4.7.0    "sv,  // blank text
      "250 2.0.0 OK"sv,   // not a failure
      "354 3.0.0 go"sv,
      "600 6.0.0 nope"sv,
      "45 4.7.0 short code"sv,
      "4511 4.7.0 long code"sv,
      "45a 4.7.0 letter"sv,
      "451 2.7.3 success class in a failure reply"sv,
      "451 4.7 two parts"sv,
      "451 4.7.0.1 four parts"sv,
      "451 4..0 empty subject"sv,
      "451 4.7. empty detail"sv,
      "451 4.1000.0 subject too long"sv,
      "451 4.7.1000 detail too long"sv,
      "451 44.7.0 class too long"sv,
      "451 4.x.0 letter"sv,
      "451  4.7.0 double space"sv,
      "451-4.7.0 dash"sv,
      "451 4.7.0 tab\there"sv,
      "451 4.7.0 line\r\n250 forged"sv,
      "451 4.7.0 nul\0x"sv,
      "451 4.7.0 caf\xc3\xa9"sv,
  };
  for (std::string_view text : bad) {
    Reply r = make_reply(999, "9.9.9", "untouched");
    EXPECT_FALSE(parse_configured_reply(text, r)) << text;
    EXPECT_EQ(r.code, 999) << "out modified on failure: " << text;
  }
}

}  // namespace
}  // namespace sluice::smtp

namespace sluice::smtp {
namespace {

TEST(ParseReplyText, IsTheInverseOfOneLine) {
  for (const char* text : {"451 4.4.0 Primary target IP address responded with: \"451 5.7.3 Must issue a STARTTLS.\"",
                           "250 2.0.0", "250", "550 No such user", "421 4.4.2 Connection dropped due to SocketError",
                           "554 5.4.4 Unable to route: no send connector serves the domain x.test"}) {
    EXPECT_EQ(parse_reply_text(text).one_line(), text);
  }
}

TEST(ParseReplyText, KeepsTheStructure) {
  auto r = parse_reply_text("550 5.1.1 No such user");
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(r.enhanced, "5.1.1");
  EXPECT_EQ(r.lines, std::vector<std::string>{"No such user"});
  EXPECT_TRUE(r.permanent());
  // A multi-line reply as one_line() wrote it comes back as one line with the first code.
  r = parse_reply_text("550-5.1.1 first 550 5.1.1 second");
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(r.enhanced, "5.1.1");
  EXPECT_EQ(r.lines, std::vector<std::string>{"first 550 5.1.1 second"});
  // "5.1" is no enhanced code: it stays in the text.
  r = parse_reply_text("451 5.1 later");
  EXPECT_EQ(r.enhanced, "");
  EXPECT_EQ(r.lines, std::vector<std::string>{"5.1 later"});
}

TEST(ParseReplyText, EmptyAndCodelessText) {
  EXPECT_TRUE(parse_reply_text("").empty());
  EXPECT_EQ(parse_reply_text("").one_line(), "");
  auto r = parse_reply_text("message content missing");
  EXPECT_EQ(r.code, 0);
  EXPECT_FALSE(r.empty());
  EXPECT_EQ(r.one_line(), "message content missing");
  EXPECT_EQ(parse_reply_text("25x text").code, 0);
}

}  // namespace
}  // namespace sluice::smtp
