#include "queue/hop_count.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::queue {
namespace {

std::string received_fields(int n) {
  std::string out;
  for (int i = 0; i < n; ++i)
    out += "Received: from h" + std::to_string(i) + " by x; Mon, 7 Dec 2026 18:00:00 +0000\r\n";
  return out;
}

TEST(CountHops, CountsReceivedFieldsOfTheHeaderSectionOnly) {
  const std::string message = received_fields(3) + "Subject: hi\r\n\r\n" + received_fields(5) +
                              "Received: looks like a field, but is body text\r\n";
  EXPECT_EQ(count_hops(message), 3);
  // The header section alone (what a streaming receiver holds) counts the same.
  EXPECT_EQ(count_hops(received_fields(3) + "Subject: hi\r\n"), 3);
  EXPECT_EQ(count_hops(""), 0);
  EXPECT_EQ(count_hops("\r\nReceived: x\r\n"), 0);  // no header section at all
}

TEST(CountHops, FoldedFieldCountsOnceAndItsContinuationsNever) {
  const std::string message =
      "Received: from a.example (a.example [192.0.2.1])\r\n"
      "\tby b.example with ESMTPS id 1\r\n"
      " Received: this is a continuation line, not a field\r\n"
      "\tfor <x@b.example>; Mon, 7 Dec 2026 18:00:00 +0000\r\n"
      "Received: from c\r\n"
      "Subject: s\r\n\r\nbody\r\n";
  EXPECT_EQ(count_hops(message), 2);
}

TEST(CountHops, NamesWithoutRegardToCaseAndWithBlanksBeforeTheColon) {
  EXPECT_EQ(count_hops("RECEIVED: a\r\nreceived: b\r\nReCeIvEd: c\r\nReceived : d\r\nReceived\t: e\r\n\r\n"), 5);
  // Other fields that merely start with the name, or lack the colon, are no hops.
  EXPECT_EQ(count_hops("Received-SPF: pass\r\nX-Received: a\r\nReceivedx: b\r\nSubject: Received: c\r\n\r\n"), 0);
}

TEST(CountHops, BareLfLinesAndAMessageWithoutBody) {
  EXPECT_EQ(count_hops("Received: a\nReceived: b\n\nReceived: body\n"), 2);
  EXPECT_EQ(count_hops("Received: a\r\nReceived: b"), 2);  // no empty line: all of it is header
}

TEST(CountHops, ALineThatIsNoFieldEndsTheHeaderSection) {
  // As mail readers (and Postfix's cleanup) read it: the body starts at the first line that is
  // not a field, even without the empty line.
  EXPECT_EQ(count_hops("Received: a\r\nthis line has no colon\r\nReceived: b\r\n"), 1);
  EXPECT_EQ(count_hops(": no name\r\nReceived: b\r\n"), 0);
}

TEST(CountLocalHops, AddsDeliveredToFields) {
  const std::string message =
      "Delivered-To: a@example.org\r\nReceived: x\r\ndelivered-to: b@example.org\r\nReceived: y\r\n"
      "Subject: s\r\n\r\nDelivered-To: c@example.org\r\n";
  EXPECT_EQ(count_local_hops(message), 4);
  EXPECT_EQ(count_hops(message), 2);
}

TEST(HopLimit, ExceededOnlyAboveTheLimit) {
  EXPECT_FALSE(exceeds_hop_limit(50, 50));
  EXPECT_TRUE(exceeds_hop_limit(51, 50));
  EXPECT_FALSE(exceeds_hop_limit(0, 0));
  EXPECT_TRUE(exceeds_hop_limit(1, 0));
  EXPECT_EQ(hop_count_exceeded_reply().one_line(), "554 5.4.14 Hop count exceeded - possible mail loop");
}

}  // namespace
}  // namespace sluice::queue
