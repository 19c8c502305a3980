#include "smtp/message_headers.h"

#include <gtest/gtest.h>

namespace sluice::smtp {
namespace {

TEST(HeaderValue, FindsTheFieldWithoutCaseUnfoldedAndTrimmed) {
  const std::string message =
      "Received: from a\r\n\tby b\r\nmessage-id:  <m1@example.org> \r\nSubject: one\r\n  two\r\n\r\n"
      "Message-ID: <in-the-body@example.org>\r\n";
  EXPECT_EQ(header_value(message, "Message-ID"), "<m1@example.org>");
  EXPECT_EQ(header_value(message, "Subject"), "one  two");
  EXPECT_EQ(header_value(message, "Received"), "from a\tby b");
  // Only the header block counts, and a name must be followed by its colon.
  EXPECT_EQ(header_value("Subject: x\r\n\r\nMessage-ID: <b@x>\r\n", "Message-ID"), "");
  EXPECT_EQ(header_value("Message-IDx: <a@x>\r\n", "Message-ID"), "");
  EXPECT_EQ(header_value("Message-ID: <lf@x>\nSubject: y\n", "Message-ID"), "<lf@x>");
  EXPECT_EQ(header_value("", "Message-ID"), "");
}

}  // namespace
}  // namespace sluice::smtp
