#include "reply.h"

#include <gtest/gtest.h>

namespace sluice::bench {
namespace {

TEST(TakeReply, SingleLineIsConsumedAndTheRestKept) {
  std::string buf = "250 2.1.0 Ok\r\n354 go ahead\r\n";
  Reply r;
  std::string err;
  ASSERT_EQ(take_reply(buf, r, err), ReplyStatus::complete);
  EXPECT_EQ(r.code, 250);
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0], "250 2.1.0 Ok");
  EXPECT_EQ(buf, "354 go ahead\r\n");
  ASSERT_EQ(take_reply(buf, r, err), ReplyStatus::complete);
  EXPECT_EQ(r.code, 354);
  EXPECT_TRUE(buf.empty());
}

TEST(TakeReply, MultiLineNeedsItsLastLine) {
  std::string buf = "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000";
  Reply r;
  std::string err;
  EXPECT_EQ(take_reply(buf, r, err), ReplyStatus::incomplete);
  EXPECT_EQ(buf, "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000");  // nothing consumed
  buf += "\r\n250 STARTTLS\r\n";
  ASSERT_EQ(take_reply(buf, r, err), ReplyStatus::complete);
  EXPECT_EQ(r.code, 250);
  EXPECT_EQ(r.lines.size(), 4u);
  EXPECT_EQ(r.text(), "250-mx.example / 250-PIPELINING / 250-SIZE 1000 / 250 STARTTLS");
  EXPECT_TRUE(r.has_extension("pipelining"));
  EXPECT_TRUE(r.has_extension("STARTTLS"));
  EXPECT_TRUE(r.has_extension("SIZE"));
  EXPECT_FALSE(r.has_extension("mx.example"));  // the greeting line is not an extension
  EXPECT_FALSE(r.has_extension("PIPE"));
  EXPECT_TRUE(buf.empty());
}

TEST(TakeReply, BareCodeEndsAReply) {
  std::string buf = "250-first\r\n250\r\n";
  Reply r;
  std::string err;
  ASSERT_EQ(take_reply(buf, r, err), ReplyStatus::complete);
  EXPECT_EQ(r.lines.size(), 2u);
  EXPECT_FALSE(r.has_extension("first2"));
}

TEST(TakeReply, ReplySplitAcrossReadsInTheMiddleOfCrlf) {
  std::string buf = "221 2.0.0 Bye\r";
  Reply r;
  std::string err;
  EXPECT_EQ(take_reply(buf, r, err), ReplyStatus::incomplete);
  buf += "\n";
  ASSERT_EQ(take_reply(buf, r, err), ReplyStatus::complete);
  EXPECT_EQ(r.code, 221);
}

TEST(TakeReply, BareLfIsMalformed) {
  std::string buf = "250 ok\n";
  Reply r;
  std::string err;
  EXPECT_EQ(take_reply(buf, r, err), ReplyStatus::malformed);
  EXPECT_NE(err.find("CRLF"), std::string::npos) << err;
}

TEST(TakeReply, CodeChangingInsideMultiLineIsMalformed) {
  std::string buf = "250-one\r\n251 two\r\n";
  Reply r;
  std::string err;
  EXPECT_EQ(take_reply(buf, r, err), ReplyStatus::malformed);
  EXPECT_NE(err.find("changes"), std::string::npos) << err;
}

TEST(TakeReply, NonReplyLinesAreMalformedAndShownEscaped) {
  for (std::string bad : {"HTTP/1.1 400\r\n", "25 short\r\n", "250xok\r\n", "650 no such class\r\n", "\r\n"}) {
    std::string buf = bad;
    Reply r;
    std::string err;
    EXPECT_EQ(take_reply(buf, r, err), ReplyStatus::malformed) << bad;
  }
  std::string buf = "\x01\x02 junk\r\n";
  Reply r;
  std::string err;
  EXPECT_EQ(take_reply(buf, r, err), ReplyStatus::malformed);
  EXPECT_NE(err.find("\\x01\\x02"), std::string::npos) << err;
}

TEST(TakeReply, OverlongLineIsMalformedEvenBeforeItsEnd) {
  std::string buf = "250 " + std::string(5000, 'a');
  Reply r;
  std::string err;
  EXPECT_EQ(take_reply(buf, r, err), ReplyStatus::malformed);
  EXPECT_NE(err.find("4096"), std::string::npos) << err;
}

TEST(TakeReply, EmptyBufferIsIncomplete) {
  std::string buf;
  Reply r;
  std::string err;
  EXPECT_EQ(take_reply(buf, r, err), ReplyStatus::incomplete);
}

}  // namespace
}  // namespace sluice::bench
