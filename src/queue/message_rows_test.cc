#include "queue/message_rows.h"

#include <gtest/gtest.h>

#include "queue/view_test_clock.h"

namespace sluice::queue {
namespace {

using namespace std::chrono_literals;
using TimePoint = std::chrono::system_clock::time_point;

std::vector<MessageRow> sample() {
  MessageRow row{"0005F1A2B3C40011", kViewTestNow - 3h - 5min, 24, "", "Retry",
                 kViewTestNow + 50s, {"[10.0.0.5]:25"},        {}};
  row.recipients.push_back({"carol@partner.example", "Retry", "[10.0.0.5]:25", 3, "421 4.4.2 Connection dropped\x1b[2J",
                            kViewTestNow + 50s});
  row.recipients.push_back({"bob@localhost", "Delivered", "local", 1, "250 2.0.0 delivered", std::nullopt});
  return {row};
}

TEST(MessageRows, RenderAlignsEscapesAndShowsRetryOnlyForRetry) {
  EXPECT_EQ(render_message_rows(sample(), kViewTestNow),
            "ID                STATUS  AGE    SIZE  FROM  NEXT HOP       NEXT RETRY\n"
            "0005F1A2B3C40011  Retry   3h 5m    24  <>    [10.0.0.5]:25  in 50s\n"
            "    carol@partner.example  Retry      [10.0.0.5]:25  in 50s  421 4.4.2 Connection dropped\\x1B[2J\n"
            "    bob@localhost          Delivered  local          -       250 2.0.0 delivered\n");
  EXPECT_EQ(render_message_rows({}, kViewTestNow), "No queued messages.\n");
}

TEST(MessageRows, JsonRoundTripsAndRefusesOtherShapes) {
  auto json = message_rows_json(sample());
  EXPECT_EQ(json[0]["next_retry"], "2024-05-01T12:36:40Z");
  EXPECT_EQ(json[0]["recipients"][1]["next_retry"], nullptr);
  auto back = message_rows_from_json(json);
  ASSERT_TRUE(back);
  EXPECT_EQ(message_rows_json(*back), json);
  auto broken = json;
  broken[0]["recipients"][0].erase("attempts");
  EXPECT_FALSE(message_rows_from_json(broken));
  broken = json;
  broken[0]["size"] = -1;
  EXPECT_FALSE(message_rows_from_json(broken));
  EXPECT_FALSE(message_rows_from_json(nlohmann::json::object()));
}

TEST(MessageRows, AMessageKeptOnlyForItsBounceIsBouncePending) {
  Envelope e;
  e.id = "A1";
  e.mail_from = "alice@example.org";
  e.received = kViewTestNow - 1h;
  Recipient failed;
  failed.address = "b@y.example";
  failed.state = Recipient::State::Failed;
  e.recipients = {failed};
  EXPECT_TRUE(matching_messages({&e}, {}, {}, kViewTestNow).empty()) << "nothing waits, nothing owed";
  e.pending_notices.push_back({"N1", false, {{0, "5.1.1", "550 5.1.1 No such user", "", {}}}});
  auto matches = matching_messages({&e}, {}, {}, kViewTestNow);
  ASSERT_EQ(matches.size(), 1u);
  auto row = message_row(matches[0], {}, kViewTestNow);
  EXPECT_EQ(row.status, "BouncePending");
  EXPECT_EQ(row.next_retry, std::nullopt);
  EXPECT_TRUE(row.next_hops.empty());
  ASSERT_EQ(row.recipients.size(), 1u);
  EXPECT_EQ(row.recipients[0].status, "Failed");
  // Message-level filters select it; recipient-level ones ask for waiting recipients.
  QueueFilter by_sender;
  by_sender.sender = "alice@*";
  EXPECT_EQ(matching_messages({&e}, by_sender, {}, kViewTestNow).size(), 1u);
  QueueFilter by_domain;
  by_domain.domain = "y.example";
  EXPECT_TRUE(matching_messages({&e}, by_domain, {}, kViewTestNow).empty());
}

TEST(MessageRows, RowOfAMatchKeepsEveryRecipientAndTheHopsOfThoseWaiting) {
  Envelope e;
  e.id = "A1";
  e.received = kViewTestNow - 1h;
  Recipient waiting;
  waiting.address = "a@x.example";
  waiting.state = Recipient::State::Deferred;
  waiting.next_attempt = kViewTestNow + 10s;
  Recipient failed = waiting;
  failed.address = "b@y.example";
  failed.state = Recipient::State::Failed;
  e.recipients = {waiting, failed, waiting};
  auto matches = matching_messages({&e}, {}, {}, kViewTestNow);
  ASSERT_EQ(matches.size(), 1u);
  auto row = message_row(matches[0], {}, kViewTestNow);
  EXPECT_EQ(row.status, "Retry");
  EXPECT_EQ(row.next_hops, std::vector<std::string>{"x.example"});
  ASSERT_EQ(row.recipients.size(), 3u);
  EXPECT_EQ(row.recipients[1].status, "Failed");
  EXPECT_FALSE(row.recipients[1].next_retry);
  // Nothing waiting: not queued mail.
  e.recipients = {failed};
  EXPECT_TRUE(matching_messages({&e}, {}, {}, kViewTestNow).empty());
}

}  // namespace
}  // namespace sluice::queue
