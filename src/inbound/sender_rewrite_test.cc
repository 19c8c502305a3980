#include "inbound/sender_rewrite.h"

#include <gtest/gtest.h>

namespace sluice::inbound {
namespace {

const std::vector<auth::SenderRewrite> kDeviceTable = {
    {"*@printer.local", "scanner@contoso.com"},
    {"root@localhost", "alerts@contoso.com"},
};

SenderRewriter device_rewriter() {
  SenderRewriter rewriter;
  rewriter.add(kDeviceTable);
  return rewriter;
}

TEST(SenderRewriter, FirstMatchInOrderAndEarlierTablesFirst) {
  const std::vector<auth::SenderRewrite> user = {{"root@localhost", "app1@contoso.com"}};
  const std::vector<auth::SenderRewrite> connector = {{"*@localhost", "any@contoso.com"},
                                                      {"root@localhost", "never@contoso.com"}};
  SenderRewriter only_connector;
  only_connector.add(connector);
  EXPECT_EQ(only_connector.rewrite("root@localhost"), "any@contoso.com");
  SenderRewriter both;
  both.add(user);
  both.add(connector);
  EXPECT_EQ(both.rewrite("root@localhost"), "app1@contoso.com");
  EXPECT_EQ(both.rewrite("daemon@localhost"), "any@contoso.com");
  EXPECT_EQ(both.rewrite("someone@contoso.com"), std::nullopt);
  EXPECT_EQ(both.rewrite(""), std::nullopt);  // the null sender
  EXPECT_FALSE(both.empty());
  EXPECT_TRUE(SenderRewriter().empty());
}

TEST(SenderHeaders, DisplayNameAndOtherFieldsKept) {
  std::string message =
      "Subject: scan from root@localhost\r\n"
      "From: Scanner <root@localhost>\r\n"
      "To: Bob <bob@contoso.com>\r\n"
      "\r\n"
      "From: root@localhost in the body stays\r\n";
  auto changes = rewrite_sender_headers(message, device_rewriter());
  EXPECT_EQ(message,
            "X-Original-Sender: root@localhost\r\n"
            "Subject: scan from root@localhost\r\n"
            "From: Scanner <alerts@contoso.com>\r\n"
            "To: Bob <bob@contoso.com>\r\n"
            "\r\n"
            "From: root@localhost in the body stays\r\n");
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].field, "From");
  EXPECT_EQ(changes[0].original, "root@localhost");
  EXPECT_EQ(changes[0].replacement, "alerts@contoso.com");
}

TEST(SenderHeaders, FoldedFieldAndCommentsAndBareAddress) {
  std::string message =
      "from:\r\n"
      "\t\"Floor 2, Scanner\"\r\n"
      "  <scan7@Printer.Local>\r\n"
      "Sender: root@localhost (the daemon)\r\n"
      "\r\n";
  auto changes = rewrite_sender_headers(message, device_rewriter());
  EXPECT_EQ(message,
            "X-Original-Sender: scan7@Printer.Local, root@localhost\r\n"
            "from:\r\n"
            "\t\"Floor 2, Scanner\"\r\n"
            "  <scanner@contoso.com>\r\n"
            "Sender: alerts@contoso.com (the daemon)\r\n"
            "\r\n");
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].field, "from");
  EXPECT_EQ(changes[1].field, "Sender");
}

TEST(SenderHeaders, EncodedWordDisplayNameUntouched) {
  const std::string encoded = "=?UTF-8?B?R2Vyw6R0IHJvb3RAbG9jYWxob3N0?=";
  std::string message = "From: " + encoded + " <root@localhost>\r\n\r\nbody\r\n";
  rewrite_sender_headers(message, device_rewriter());
  EXPECT_EQ(message, "X-Original-Sender: root@localhost\r\nFrom: " + encoded + " <alerts@contoso.com>\r\n\r\nbody\r\n");
}

TEST(SenderHeaders, SeveralAuthorsEachRewrittenWhenTheyMatch) {
  std::string message = "From: a@printer.local, Bob <bob@contoso.com>, \"x\" <b@printer.local>\r\n\r\n";
  auto changes = rewrite_sender_headers(message, device_rewriter());
  EXPECT_EQ(message,
            "X-Original-Sender: a@printer.local, b@printer.local\r\n"
            "From: scanner@contoso.com, Bob <bob@contoso.com>, \"x\" <scanner@contoso.com>\r\n\r\n");
  EXPECT_EQ(changes.size(), 2u);
}

TEST(SenderHeaders, NothingToDoLeavesTheMessageAlone) {
  const std::string original = "To: bob@contoso.com\r\nSubject: no From field\r\n\r\nFrom: root@localhost\r\n";
  std::string message = original;
  EXPECT_TRUE(rewrite_sender_headers(message, device_rewriter()).empty());
  EXPECT_EQ(message, original);

  const std::string other = "From: Someone <someone@contoso.com>\r\n\r\n";
  message = other;
  EXPECT_TRUE(rewrite_sender_headers(message, device_rewriter()).empty());
  EXPECT_EQ(message, other);

  message = "From: root@localhost\r\n\r\n";
  EXPECT_TRUE(rewrite_sender_headers(message, SenderRewriter()).empty());
  EXPECT_EQ(message, "From: root@localhost\r\n\r\n");
}

TEST(SenderHeaders, HeaderWithoutBodyAndHeaderEndingAtANonField) {
  std::string message = "From: root@localhost";
  rewrite_sender_headers(message, device_rewriter());
  EXPECT_EQ(message, "X-Original-Sender: root@localhost\r\nFrom: alerts@contoso.com");
  // No empty line: the first line that is not a field starts the body.
  message = "Subject: x\r\nthis is body text\r\nFrom: root@localhost\r\n";
  EXPECT_TRUE(rewrite_sender_headers(message, device_rewriter()).empty());
}

TEST(SenderHeaders, GroupNameAndQuotedAtSignAreNotAddresses) {
  std::string message = "From: \"root@localhost\" <someone@contoso.com>\r\nSender: devices: root@localhost;\r\n\r\n";
  auto changes = rewrite_sender_headers(message, device_rewriter());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].field, "Sender");
  EXPECT_EQ(message,
            "X-Original-Sender: root@localhost\r\n"
            "From: \"root@localhost\" <someone@contoso.com>\r\nSender: devices: alerts@contoso.com;\r\n\r\n");
}

TEST(SenderHeaders, LongListOfOriginalsIsFolded) {
  std::vector<auth::SenderRewrite> table = {{"*@printer.local", "scanner@contoso.com"}};
  SenderRewriter rewriter;
  rewriter.add(table);
  std::string message = "From: ";
  for (int i = 0; i < 6; ++i)
    message += (i ? ", " : "") + std::string("device-number-") + char('0' + i) + "@printer.local";
  message += "\r\n\r\n";
  rewrite_sender_headers(message, rewriter);
  const std::string header = message.substr(0, message.find("\r\nFrom:"));
  std::size_t start = 0;
  for (auto eol = header.find("\r\n"); start < header.size(); eol = header.find("\r\n", start)) {
    const std::size_t end = eol == std::string::npos ? header.size() : eol;
    EXPECT_LE(end - start, 78u) << header;
    if (start > 0) {
      EXPECT_EQ(header[start], ' ');  // continuation lines are folded, not new fields
    }
    start = end + 2;
  }
  EXPECT_NE(header.find("device-number-5@printer.local"), std::string::npos);
}

}  // namespace
}  // namespace sluice::inbound
