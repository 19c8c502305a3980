#include "tracking/search.h"

#include <gtest/gtest.h>

#include <fstream>

#include "base/temp_dir_test_util.h"
#include "tracking/events.h"
#include "tracking/tracking_log.h"

namespace sluice::tracking {
namespace {

using State = queue::Recipient::State;
using namespace std::chrono;

queue::Envelope envelope(std::string id, std::string from, std::vector<std::string> to) {
  queue::Envelope e;
  e.id = std::move(id);
  e.message_id = "<" + e.id + "@client.test>";
  e.mail_from = std::move(from);
  e.size = 100;
  e.client_address = "127.0.0.1";
  e.connector = "Default";
  e.tls_version = "TLS1_3";
  for (auto& a : to) e.recipients.emplace_back().address = a;
  return e;
}

/// A log with three messages: one relayed (queued as ABC123), one deferred then bounced (the
/// bounce delivered locally), one delivered locally.
class TrackSearch : public ::testing::Test {
 protected:
  void SetUp() override {
    const Origin origin{"mx.sluice.test"};
    auto t0 = sys_days{2026y / December / 7} + hours{11};
    Hop hop{.connector = "Outbound", .host = "sink.test", .endpoint = "127.0.0.1:2626", .tls_version = "TLS1_2"};

    auto relayed = envelope("AAAA000000000001", "alice@example.org", {"bob@far.test"});
    records_.push_back(receive_record(origin, relayed, "127.0.0.1:25", "S1", t0));
    auto sent = relayed;
    sent.recipients[0].state = State::Delivered;
    sent.recipients[0].last_reply = smtp::make_reply(250, "2.0.0", "Ok: queued as ABC123");
    for (auto& r : outcome_records(origin, &relayed, sent, {}, &hop, t0 + seconds{1})) records_.push_back(r);

    auto stuck = envelope("BBBB000000000002", "alice@example.org", {"carol@down.test"});
    records_.push_back(receive_record(origin, stuck, "127.0.0.1:25", "S2", t0 + minutes{1}));
    auto deferred = stuck;
    deferred.recipients[0].state = State::Deferred;
    deferred.recipients[0].attempts = 1;
    deferred.recipients[0].last_reply = smtp::make_reply(421, "4.4.2", "Connection dropped due to SocketError");
    Hop down{.connector = "Outbound", .host = "down.test", .endpoint = "127.0.0.1:9"};
    for (auto& r : outcome_records(origin, &stuck, deferred, {}, &down, t0 + minutes{2})) records_.push_back(r);
    auto failed = deferred;
    failed.recipients[0].state = State::Failed;
    for (auto& r : outcome_records(origin, &deferred, failed, {}, nullptr, t0 + minutes{3})) records_.push_back(r);
    auto bounce = envelope("CCCC000000000003", "", {"alice@example.org"});
    queue::DsnRecipient row;
    row.address = "carol@down.test";
    records_.push_back(dsn_record(origin, failed, bounce, {row}, false, t0 + minutes{3}));
    auto bounced = bounce;
    bounced.recipients[0].state = State::Delivered;
    bounced.recipients[0].last_reply = smtp::make_reply(250, "2.0.0", "Delivered to the local mailbox");
    Hop local{.local = true};
    for (auto& r : outcome_records(origin, &bounce, bounced, {}, &local, t0 + minutes{4})) records_.push_back(r);

    auto mine = envelope("DDDD000000000004", "dave@partner.test", {"erin@sluice.test"});
    records_.push_back(receive_record(origin, mine, "127.0.0.1:25", "S3", t0 + minutes{5}));
    auto delivered = mine;
    delivered.recipients[0].state = State::Delivered;
    delivered.recipients[0].last_reply = smtp::make_reply(250, "2.0.0", "Delivered to the local mailbox");
    for (auto& r : outcome_records(origin, &mine, delivered, {}, &local, t0 + minutes{5})) records_.push_back(r);
  }

  std::vector<std::string> ids(const Query& q) {
    std::vector<std::string> out;
    for (const auto& m : find_messages(records_, q)) out.push_back(m.id);
    return out;
  }

  std::vector<Record> records_;
};

TEST_F(TrackSearch, FiltersBySenderRecipientIdAndTime) {
  using V = std::vector<std::string>;
  EXPECT_EQ(ids({}), (V{"AAAA000000000001", "BBBB000000000002", "DDDD000000000004"}));
  EXPECT_EQ(ids({.sender = "ALICE@example.org"}), (V{"AAAA000000000001", "BBBB000000000002"}));
  EXPECT_EQ(ids({.sender = "@partner.test"}), (V{"DDDD000000000004"}));
  EXPECT_EQ(ids({.recipient = "carol@down.test"}), (V{"BBBB000000000002"}));
  // The bounce's recipient (alice) is not a recipient of the message that caused it.
  EXPECT_EQ(ids({.recipient = "alice@example.org"}), V{});
  EXPECT_EQ(ids({.sender = "alice@example.org", .recipient = "@far.test"}), (V{"AAAA000000000001"}));
  EXPECT_EQ(ids({.id = "ABC123"}), (V{"AAAA000000000001"}));
  EXPECT_EQ(ids({.id = "<BBBB000000000002@client.test>"}), (V{"BBBB000000000002"}));
  EXPECT_EQ(ids({.id = "BBBB000000000002@client.test"}), (V{"BBBB000000000002"}));
  EXPECT_EQ(ids({.id = "dddd000000000004"}), (V{"DDDD000000000004"}));
  EXPECT_EQ(ids({.id = "CCCC000000000003"}), (V{"BBBB000000000002"}));  // the bounce leads to its original
  EXPECT_EQ(ids({.since = sys_days{2026y / December / 7} + hours{11} + minutes{4}}),
            (V{"BBBB000000000002", "DDDD000000000004"}));
  EXPECT_EQ(ids({.sender = "nobody@example.org"}), V{});
}

TEST_F(TrackSearch, TextShowsEachMessagesPath) {
  auto text = render_text(find_messages(records_, {.sender = "alice@example.org"}));
  EXPECT_NE(text.find("AAAA000000000001 <AAAA000000000001@client.test> from alice@example.org, 100 bytes\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("RECEIVE from [127.0.0.1] on \"Default\" with TLS1_3, for bob@far.test"), std::string::npos)
      << text;
  EXPECT_NE(text.find("SEND    bob@far.test to sink.test [127.0.0.1] via \"Outbound\" with TLS1_2, queued as ABC123: "
                      "250 2.0.0 Ok: queued as ABC123"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("DEFER   carol@down.test at down.test [127.0.0.1] via \"Outbound\" without TLS: 421 4.4.2 "
                      "Connection dropped due to SocketError\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("FAIL    carol@down.test: 550 4.4.7 QUEUE.Expired"), std::string::npos) << text;
  EXPECT_NE(text.find("DSN     bounce CCCC000000000003 to alice@example.org about carol@down.test"), std::string::npos)
      << text;
  EXPECT_NE(text.find("DELIVER alice@example.org (notification CCCC000000000003) to the local mailbox"),
            std::string::npos)
      << text;
}

TEST_F(TrackSearch, JsonCarriesTheSameFacts) {
  auto json = render_json(find_messages(records_, {.id = "ABC123"}));
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0]["id"], "AAAA000000000001");
  EXPECT_EQ(json[0]["sender"], "alice@example.org");
  EXPECT_EQ(json[0]["size"], 100);
  ASSERT_EQ(json[0]["events"].size(), 2u);
  EXPECT_EQ(json[0]["events"][0]["event"], "RECEIVE");
  EXPECT_EQ(json[0]["events"][0]["tls_version"], "TLS1_3");
  EXPECT_EQ(json[0]["events"][1]["event"], "SEND");
  EXPECT_EQ(json[0]["events"][1]["queued_as"], "ABC123");
  EXPECT_EQ(json[0]["events"][1]["tls_version"], "TLS1_2");
  EXPECT_EQ(json[0]["events"][1]["server_hostname"], "sink.test");
  auto deferred = render_json(find_messages(records_, {.recipient = "carol@down.test"}));
  EXPECT_EQ(deferred[0]["events"][1]["reason"], "421 4.4.2 Connection dropped due to SocketError");
}

TEST(TrackLogDirectory, ReadsWhatTheGatewayWroteAndSaysWhyItCannot) {
  sluice::test_util::TempDir dir("sluice-track");
  {
    TrackingLog log(dir.path(), "mx.sluice.test", 1 << 20);
    auto e = envelope("AAAA000000000001", "alice@example.org", {"bob@far.test"});
    log.received(e, "127.0.0.1:25", "S1");
  }
  std::ofstream(dir.path() / "MSGTRK2026120700-1.LOG") << "#Fields: date-time,event-id\r\nnot,a record\r\n";
  std::ofstream(dir.path() / "unrelated.txt") << "ignored";
  std::size_t skipped = 0;
  auto records = read_log_dir(dir.path(), &skipped);
  ASSERT_TRUE(records) << records.error().message;
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0][kEventId], "RECEIVE");
  EXPECT_EQ((*records)[0][kInternalMessageId], "AAAA000000000001");
  EXPECT_EQ(skipped, 1u);

  auto missing = read_log_dir(dir.path() / "nope");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no message tracking log there"), std::string::npos);
  auto not_dir = read_log_dir(dir.path() / "unrelated.txt");
  ASSERT_FALSE(not_dir);
  EXPECT_NE(not_dir.error().message.find("not a directory"), std::string::npos);
}

TEST(DeferReason, TakesTheLastErrorOutOfExchangesForm) {
  EXPECT_EQ(defer_reason("{[{LRT=};{LED=421 4.4.2 Connection dropped due to SocketError};{FQDN=};{IP=}]}"),
            "421 4.4.2 Connection dropped due to SocketError");
  EXPECT_EQ(defer_reason("451 4.4.0 DNS query failed"), "451 4.4.0 DNS query failed");
}

}  // namespace
}  // namespace sluice::tracking
