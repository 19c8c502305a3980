#include "demo/message_fields.h"

#include <gtest/gtest.h>

namespace sluice::demo {
namespace {

TEST(DemoMessage, HeaderValueIsUnfoldedAndCaseInsensitive) {
  std::string message =
      "Received: from a ([127.0.0.1]) by b (sluice)\r\n\twith ESMTPS (version=TLS1_3, cipher=X)\r\n"
      "\tid 1; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
      "Received: from older\r\n"
      "subject: Hello\r\n"
      "\r\n"
      "Action: failed\r\n";
  EXPECT_EQ(
      header_value(message, "Received").value_or("?"),
      "from a ([127.0.0.1]) by b (sluice) with ESMTPS (version=TLS1_3, cipher=X) id 1; Mon, 1 Jan 2024 00:00:00 +0000");
  EXPECT_EQ(header_value(message, "Subject").value_or("?"), "Hello");
  // Fields after the header block are body text, not headers.
  EXPECT_FALSE(header_value(message, "Action").has_value());
  EXPECT_FALSE(header_value(message, "To").has_value());
  // "Subjectline:" is not "Subject".
  EXPECT_FALSE(header_value("Subjectline: x\r\n\r\n", "Subject").has_value());
  EXPECT_EQ(header_value("Subject:\r\n\r\n", "Subject").value_or("?"), "");
}

TEST(DemoMessage, FieldLinesAreFoundInTheBody) {
  std::string dsn =
      "Subject: Undeliverable: x\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n"
      "Final-Recipient: rfc822; bob@cloud.test\r\nAction: failed\r\nStatus: 4.4.7\r\n"
      "Diagnostic-Code: smtp; 421 4.4.2\r\n Connection dropped due to SocketError\r\n";
  EXPECT_EQ(field_lines(dsn, "Action"), std::vector<std::string>{"Action: failed"});
  EXPECT_EQ(field_lines(dsn, "diagnostic-code"),
            std::vector<std::string>{"Diagnostic-Code: smtp; 421 4.4.2 Connection dropped due to SocketError"});
  EXPECT_TRUE(field_lines(dsn, "Remote-MTA").empty());
}

}  // namespace
}  // namespace sluice::demo
