#include "smtp/reply_reader.h"

#include <gtest/gtest.h>

namespace sluice::smtp {
namespace {

TEST(ParseReplyLine, SplitsCodeContinuationEnhancedAndText) {
  auto line = parse_reply_line("250-2.1.5 Recipient OK");
  ASSERT_TRUE(line);
  EXPECT_EQ(line->code, 250);
  EXPECT_TRUE(line->continuation);
  EXPECT_EQ(line->enhanced, "2.1.5");
  EXPECT_EQ(line->text, "Recipient OK");
}

TEST(ParseReplyLine, LastLineWithoutEnhancedCode) {
  auto line = parse_reply_line("220 mx.example.org ESMTP");
  ASSERT_TRUE(line);
  EXPECT_EQ(line->code, 220);
  EXPECT_FALSE(line->continuation);
  EXPECT_EQ(line->enhanced, "");
  EXPECT_EQ(line->text, "mx.example.org ESMTP");
}

TEST(ParseReplyLine, BareCodeAndEmptyTexts) {
  auto bare = parse_reply_line("250");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->code, 250);
  EXPECT_FALSE(bare->continuation);
  EXPECT_EQ(bare->text, "");
  auto dash = parse_reply_line("250-");
  ASSERT_TRUE(dash);
  EXPECT_TRUE(dash->continuation);
  EXPECT_EQ(dash->text, "");
  auto only_enhanced = parse_reply_line("250 2.0.0");
  ASSERT_TRUE(only_enhanced);
  EXPECT_EQ(only_enhanced->enhanced, "2.0.0");
  EXPECT_EQ(only_enhanced->text, "");
}

TEST(ParseReplyLine, EnhancedClassMayDifferFromTheCode) {
  auto line = parse_reply_line("451 5.7.3 Must issue a STARTTLS command first");
  ASSERT_TRUE(line);
  EXPECT_EQ(line->code, 451);
  EXPECT_EQ(line->enhanced, "5.7.3");
  EXPECT_EQ(line->text, "Must issue a STARTTLS command first");
}

TEST(ParseReplyLine, ThreeDigitSubjectAndDetail) {
  auto line = parse_reply_line("450 4.4.317 Cannot connect to remote server");
  ASSERT_TRUE(line);
  EXPECT_EQ(line->enhanced, "4.4.317");
  EXPECT_EQ(line->text, "Cannot connect to remote server");
}

TEST(ParseReplyLine, TextThatOnlyLooksLikeAnEnhancedCodeStaysText) {
  EXPECT_EQ(parse_reply_line("250-192.168.1.1 Hello")->enhanced, "");
  EXPECT_EQ(parse_reply_line("250-192.168.1.1 Hello")->text, "192.168.1.1 Hello");
  EXPECT_EQ(parse_reply_line("250 2.0.0.1 x")->enhanced, "");   // four parts
  EXPECT_EQ(parse_reply_line("250 2.0.0abc")->enhanced, "");    // no space after
  EXPECT_EQ(parse_reply_line("250 3.0.0 x")->enhanced, "");     // class 3 does not exist
  EXPECT_EQ(parse_reply_line("250 2.0000.0 x")->enhanced, "");  // subject too long
  EXPECT_EQ(parse_reply_line("250 2..0 x")->enhanced, "");
  EXPECT_EQ(parse_reply_line("250 SIZE 1000")->text, "SIZE 1000");
}

TEST(ParseReplyLine, RejectsBadSyntaxWithAReason) {
  auto why = [](std::string_view line) {
    auto parsed = parse_reply_line(line);
    return parsed ? std::string("accepted") : parsed.error().message;
  };
  EXPECT_EQ(why(""), "reply line shorter than a reply code");
  EXPECT_EQ(why("25"), "reply line shorter than a reply code");
  EXPECT_EQ(why("2x0 hi"), "reply line does not start with a three-digit code");
  EXPECT_EQ(why("150 hi"), "reply code outside 2xx-5xx");
  EXPECT_EQ(why("650 hi"), "reply code outside 2xx-5xx");
  EXPECT_EQ(why("250:hi"), "reply code not followed by a space or '-'");
  EXPECT_FALSE(parse_reply_line("2500 hi"));
  EXPECT_FALSE(parse_reply_line("HTTP/1.1 400 Bad Request"));
}

TEST(ReplyAssembler, MultiLineEhloReply) {
  ReplyAssembler a;
  EXPECT_EQ(a.add("250-mx.example.org Hello [127.0.0.1]"), ReplyAssembler::Status::NeedMore);
  EXPECT_EQ(a.add("250-SIZE 1000"), ReplyAssembler::Status::NeedMore);
  EXPECT_EQ(a.add("250 STARTTLS"), ReplyAssembler::Status::Complete);
  Reply r = a.take();
  EXPECT_EQ(r.code, 250);
  EXPECT_EQ(r.enhanced, "");
  ASSERT_EQ(r.lines.size(), 3u);
  EXPECT_EQ(r.lines[1], "SIZE 1000");
  EXPECT_EQ(r.one_line(), "250-mx.example.org Hello [127.0.0.1] 250-SIZE 1000 250 STARTTLS");
}

TEST(ReplyAssembler, SameEnhancedCodeOnEveryLineRoundTrips) {
  ReplyAssembler a;
  a.add("550-5.7.1 first");
  EXPECT_EQ(a.add("550 5.7.1 second"), ReplyAssembler::Status::Complete);
  Reply r = a.take();
  EXPECT_EQ(r.enhanced, "5.7.1");
  EXPECT_EQ(r.wire(), "550-5.7.1 first\r\n550 5.7.1 second\r\n");
}

TEST(ReplyAssembler, DifferentEnhancedCodeOnALaterLineIsKeptInItsText) {
  ReplyAssembler a;
  a.add("550-5.7.1 first");
  a.add("550 5.1.1 second");
  Reply r = a.take();
  EXPECT_EQ(r.lines[1], "5.1.1 second");
}

TEST(ReplyAssembler, CodeChangeIsAnError) {
  ReplyAssembler a;
  a.add("250-first");
  EXPECT_EQ(a.add("251 second"), ReplyAssembler::Status::Error);
  EXPECT_EQ(a.error(), "reply code changed within a multi-line reply");
  // Stays failed until reset: a broken stream must not yield a reply by accident.
  EXPECT_EQ(a.add("250 third"), ReplyAssembler::Status::Error);
  a.reset();
  EXPECT_EQ(a.add("250 ok"), ReplyAssembler::Status::Complete);
}

TEST(ReplyAssembler, TooManyLinesIsAnError) {
  ReplyAssembler a(3);
  EXPECT_EQ(a.add("250-a"), ReplyAssembler::Status::NeedMore);
  EXPECT_EQ(a.add("250-b"), ReplyAssembler::Status::NeedMore);
  EXPECT_EQ(a.add("250-c"), ReplyAssembler::Status::NeedMore);
  EXPECT_EQ(a.add("250 d"), ReplyAssembler::Status::Error);
  EXPECT_EQ(a.error(), "reply has too many lines");
}

TEST(ReplyAssembler, MalformedLineReportsWhy) {
  ReplyAssembler a;
  EXPECT_EQ(a.add("hello"), ReplyAssembler::Status::Error);
  EXPECT_EQ(a.error(), "reply line does not start with a three-digit code");
}

TEST(EnhancedCodeLength, CountsOnlyAValidPrefix) {
  EXPECT_EQ(enhanced_code_length("2.0.0 ok"), 5u);
  EXPECT_EQ(enhanced_code_length("4.4.317"), 7u);
  EXPECT_EQ(enhanced_code_length("5.7.3"), 5u);
  EXPECT_EQ(enhanced_code_length("5.7."), 0u);
  EXPECT_EQ(enhanced_code_length("x.7.3"), 0u);
}

}  // namespace
}  // namespace sluice::smtp
