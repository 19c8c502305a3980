#include "message.h"

#include <gtest/gtest.h>

namespace sluice::bench {
namespace {

// Every LF is preceded by CR and no line (without CRLF) exceeds 998 octets (RFC 5322 2.1.1).
void expect_clean_lines(const std::string& s) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n') {
      ASSERT_GT(i, 0u);
      ASSERT_EQ(s[i - 1], '\r') << "bare LF at " << i;
      EXPECT_LE(i - 1 - start, 998u);
      start = i + 1;
    }
  }
}

TEST(MakeMessage, HasExactlyTheRequestedSize) {
  for (std::size_t size : {300u, 1024u, 1025u, 4097u, 102400u}) {
    std::string m = make_message(size, "a@x.test", "b@y.test");
    EXPECT_EQ(m.size(), size);
    EXPECT_TRUE(m.ends_with("\r\n")) << size;
    expect_clean_lines(m);
  }
}

TEST(MakeMessage, OneOctetMoreThanTheHeadersStillHasTheBlankLine) {
  std::string headers = make_message(1, "a@x.test", "b@y.test");
  std::string m = make_message(headers.size() + 1, "a@x.test", "b@y.test");
  EXPECT_EQ(m.size(), headers.size() + 1);
  EXPECT_NE(m.find("\r\n\r\n"), std::string::npos);
  EXPECT_NE(m.find("Subject: sluice-loadgen test message.\r\n"), std::string::npos);
  expect_clean_lines(m);
}

TEST(MakeMessage, SmallerThanHeadersGivesJustHeaders) {
  std::string m = make_message(10, "a@x.test", "b@y.test");
  EXPECT_TRUE(m.starts_with("From: <a@x.test>\r\nTo: <b@y.test>\r\n"));
  EXPECT_TRUE(m.ends_with("\r\n\r\n"));
}

TEST(MakeMessage, SomeBodyLinesStartWithADot) {
  std::string m = make_message(4096, "a@x.test", "b@y.test");
  EXPECT_NE(m.find("\r\n."), std::string::npos);
}

TEST(MessageId, SameLengthForEverySequenceNumberAndUniquePerRunAndNumber) {
  const std::string run = new_run_id();
  EXPECT_EQ(run.size(), 16u);
  EXPECT_EQ(run.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(new_run_id(), run);  // 64 random bits: equal only by a 2^-64 chance
  EXPECT_EQ(message_id("0123456789abcdef", 1), "<0123456789abcdef.0000000000000001@sluice-loadgen>");
  EXPECT_NE(message_id(run, 1), message_id(run, 2));
  EXPECT_NE(message_id(run, 1), message_id(new_run_id(), 1));
  for (std::uint64_t seq : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{0xfff}, ~std::uint64_t{0}}) {
    std::string line = message_id_line(message_id(run, seq));
    EXPECT_EQ(line.size(), kMessageIdLineSize) << seq;
    EXPECT_TRUE(line.starts_with("Message-ID: <")) << line;
    EXPECT_TRUE(line.ends_with(">\r\n")) << line;
  }
}

TEST(DotStuff, DoublesLeadingDotsAndEndsWithTheTerminator) {
  EXPECT_EQ(dot_stuff(".a\r\nb.\r\n..c\r\n"), "..a\r\nb.\r\n...c\r\n.\r\n");
  EXPECT_EQ(dot_stuff("x\r\n.\r\n"), "x\r\n..\r\n.\r\n");
}

TEST(DotStuff, AddsCrlfWhenTheTextDoesNotEndWithOne) {
  EXPECT_EQ(dot_stuff("abc"), "abc\r\n.\r\n");
  EXPECT_EQ(dot_stuff(""), ".\r\n");
}

TEST(DotStuff, StuffedMessageHasNoPrematureTerminator) {
  std::string wire = dot_stuff(make_message(102400, "a@x.test", "b@y.test"));
  EXPECT_EQ(wire.find("\r\n.\r\n"), wire.size() - 5);
  EXPECT_EQ(wire.find("\r\n.a"), std::string::npos);  // every dot-started line was doubled
}

}  // namespace
}  // namespace sluice::bench
