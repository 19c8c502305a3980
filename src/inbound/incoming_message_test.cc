#include "inbound/incoming_message.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::inbound {
namespace {

const std::string kReceived = "Received: from client.test\r\n\tby mx.test; Fri, 1 May 2026 12:00:00 +0000\r\n";

/// Adds `content` in pieces of `piece` octets, taking pending() whenever it is ready() (as the
/// session writes it), and returns all that was taken; `largest` is set to the most pending()
/// ever held.
std::string stream(IncomingMessage& message, std::string_view content, std::size_t piece,
                   std::size_t* largest = nullptr) {
  std::string out;
  for (std::size_t at = 0; at < content.size(); at += piece) {
    message.add(content.substr(at, piece));
    if (largest) *largest = std::max(*largest, message.pending().size());
    if (message.ready()) {
      out += message.pending();
      message.taken();
    }
  }
  message.finish();
  out += message.pending();
  message.taken();
  return out;
}

TEST(IncomingMessageTest, ReceivedFirstThenTheEditedHeaderThenTheBody) {
  IncomingMessage message(kReceived, 1000, [](std::string& header) { header.insert(0, "X-Added: 1\r\n"); });
  const std::string out = stream(message, "Subject: hi\r\nFrom: a@b\r\n\r\nbody\r\n", 1000);
  EXPECT_EQ(out, kReceived + "X-Added: 1\r\nSubject: hi\r\nFrom: a@b\r\n\r\nbody\r\n");
  EXPECT_EQ(message.header_section(), kReceived + "X-Added: 1\r\nSubject: hi\r\nFrom: a@b\r\n");
  EXPECT_EQ(message.size(), out.size());
}

TEST(IncomingMessageTest, TheSameOutputHoweverTheContentIsCut) {
  const std::string content = "Subject: hi\r\nFrom: a@b\r\n\r\nbody\r\n\r\nmore\r\n";
  IncomingMessage whole(kReceived, 1000, {});
  const std::string expected = stream(whole, content, content.size());
  for (std::size_t piece = 1; piece < content.size(); ++piece) {
    IncomingMessage cut(kReceived, 1000, {});
    EXPECT_EQ(stream(cut, content, piece), expected) << piece;
    EXPECT_EQ(cut.header_section(), whole.header_section()) << piece;
  }
  EXPECT_EQ(whole.header_section(), kReceived + "Subject: hi\r\nFrom: a@b\r\n");
}

TEST(IncomingMessageTest, ContentThatBeginsWithAnEmptyLineHasNoHeaderFields) {
  bool edited = false;
  IncomingMessage message(kReceived, 1000, [&edited](std::string& header) {
    EXPECT_EQ(header, "");
    edited = true;
  });
  message.add("\r");
  EXPECT_FALSE(message.header_complete());
  message.add("\nSubject: not a header\r\n\r\n");
  EXPECT_TRUE(message.header_complete());
  EXPECT_TRUE(edited);
  EXPECT_EQ(message.header_section(), kReceived);
  EXPECT_EQ(message.pending(), kReceived + "\r\nSubject: not a header\r\n\r\n");
}

TEST(IncomingMessageTest, AHeaderSectionPastTheLimitEndsAtItsLastLineAndTheRestIsBody) {
  std::string seen;
  IncomingMessage message(kReceived, 30, [&seen](std::string& header) { seen = header; });
  const std::string content = "A: 1234567890\r\nB: 1234567890\r\nC: 1234567890\r\n\r\nbody\r\n";
  const std::string out = stream(message, content, 7);
  EXPECT_EQ(seen, "A: 1234567890\r\nB: 1234567890\r\n");  // 30 octets: two whole lines
  EXPECT_EQ(message.header_section(), kReceived + seen);
  EXPECT_EQ(out, kReceived + content);  // nothing lost or changed
}

TEST(IncomingMessageTest, ALineLongerThanTheLimitIsCutAtTheLimit) {
  IncomingMessage message(kReceived, 10, {});
  const std::string out = stream(message, "Subject: a long line\r\n\r\n", 4);
  EXPECT_EQ(message.header_section(), kReceived + "Subject: a");
  EXPECT_EQ(out, kReceived + "Subject: a long line\r\n\r\n");
}

TEST(IncomingMessageTest, AMessageWithoutAnEmptyLineEndsItsHeaderAtTheEnd) {
  IncomingMessage message(kReceived, 1000, {});
  EXPECT_EQ(stream(message, "Subject: only\r\n", 5), kReceived + "Subject: only\r\n");
  EXPECT_TRUE(message.header_complete());
  EXPECT_EQ(message.header_section(), kReceived + "Subject: only\r\n");
}

// What the session holds does not grow with the message: the header section and what waits to be
// written stay under fixed bounds for 1 MiB and 32 MiB alike.
TEST(IncomingMessageTest, MemoryDoesNotGrowWithTheMessage) {
  const std::string line = std::string(76, 'x') + "\r\n";
  for (std::size_t mib : {1, 32}) {
    std::string content = "Subject: big\r\n\r\n";
    while (content.size() < mib << 20) content += line;
    IncomingMessage message(kReceived, 100 * 1024, {});
    std::size_t largest = 0;
    const std::string out = stream(message, content, 8192, &largest);
    EXPECT_EQ(out.size(), kReceived.size() + content.size());
    EXPECT_EQ(message.size(), out.size());
    EXPECT_LT(largest, IncomingMessage::kWriteChunk + 8192) << mib << " MiB";
    EXPECT_EQ(message.header_section(), kReceived + "Subject: big\r\n");
  }
}

}  // namespace
}  // namespace sluice::inbound
