#include "queue/queue_view.h"

#include <gtest/gtest.h>

#include "queue/view_test_clock.h"

namespace sluice::queue {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using TimePoint = std::chrono::system_clock::time_point;

const std::string kDropped = "421 4.4.2 Connection dropped due to SocketError";

Recipient rcpt(std::string address, Recipient::State state, TimePoint next = {}, const std::string& reply = "",
               TimePoint last = {}, std::string hop = "") {
  Recipient r;
  r.address = std::move(address);
  r.state = state;
  r.next_attempt = next;
  r.last_reply = smtp::parse_reply_text(reply);
  r.last_attempt = last;
  r.next_hop = std::move(hop);
  r.attempts = last == TimePoint{} ? 0 : 1;
  return r;
}

Envelope message(std::string id, std::vector<Recipient> recipients) {
  Envelope e;
  e.id = std::move(id);
  e.mail_from = "alice@example.org";
  e.recipients = std::move(recipients);
  e.body_type = "8BITMIME";
  e.size = 1234;
  e.received = kViewTestNow - 5min;
  e.client_address = "192.0.2.1";
  e.client_helo = "mx.example.org";
  e.connector = "inbound";
  e.tls_version = "TLS1_3";
  e.tls_cipher = "TLS_AES_256_GCM_SHA384";
  return e;
}

using S = Recipient::State;

/// A filter as the gateway reads it from a request.
QueueFilter filter(const Json& json) { return filter_from_json(json).value(); }

TEST(RecipientHop, NextHopOrLowerCasedDomain) {
  EXPECT_EQ(recipient_hop(rcpt("Bob@Partner.EXAMPLE", S::Pending)), "partner.example");
  EXPECT_EQ(recipient_hop(rcpt("bob@partner.example", S::Pending, {}, "", {}, "[10.0.0.5]:25")), "[10.0.0.5]:25");
  EXPECT_EQ(recipient_hop(rcpt("\"a@b\"@Example.ORG", S::Pending)), "example.org");
  EXPECT_EQ(recipient_hop(rcpt("postmaster", S::Pending)), "local");
}

TEST(HopRows, GroupsByHopAndComputesStatus) {
  std::vector<Envelope> queue = {
      message("A1", {rcpt("carol@partner.example", S::Deferred, kViewTestNow + 250s, kDropped, kViewTestNow - 10s),
                     rcpt("dave@other.example", S::Pending)}),
      message("A2",
              {rcpt("erin@Partner.Example", S::Deferred, kViewTestNow + 600s, "451 4.7.0 earlier", kViewTestNow - 60s),
               rcpt("frank@partner.example", S::Deferred, kViewTestNow + 300s, "", kViewTestNow - 5s)}),
      message("A3", {rcpt("gina@done.example", S::Delivered), rcpt("hal@dead.example", S::Failed)}),
  };
  auto rows = hop_rows(queue, {}, {}, kViewTestNow);
  ASSERT_EQ(rows.size(), 2u);  // delivered and failed recipients wait for nothing
  EXPECT_EQ(rows[0].next_hop, "other.example");
  EXPECT_EQ(rows[0].status, "Ready");
  EXPECT_EQ(rows[0].messages, 1u);
  EXPECT_EQ(rows[0].last_error, "");
  EXPECT_FALSE(rows[0].next_retry);
  EXPECT_EQ(rows[1].next_hop, "partner.example");
  EXPECT_EQ(rows[1].status, "Retry");
  EXPECT_EQ(rows[1].messages, 2u);                     // A2 counted once for two recipients
  EXPECT_EQ(rows[1].last_error, kDropped);             // latest attempt with a reply (frank's is empty)
  EXPECT_EQ(rows[1].next_retry, kViewTestNow + 250s);  // earliest
}

TEST(HopRows, OldestMessageAndTheTimeOfTheLastError) {
  Envelope older = message("D1", {rcpt("a@x.example", S::Deferred, kViewTestNow + 60s, "451 old", kViewTestNow - 90s)});
  older.received = kViewTestNow - 2h;
  Envelope newer = message("D2", {rcpt("b@x.example", S::Deferred, kViewTestNow + 60s, kDropped, kViewTestNow - 30s)});
  Envelope untried = message("D3", {rcpt("c@y.example", S::Pending)});
  auto rows = hop_rows(std::vector<Envelope>{newer, older, untried}, {}, {}, kViewTestNow);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].oldest, kViewTestNow - 2h);  // for the fleet view: the oldest of the hop's messages
  EXPECT_EQ(rows[0].last_error, kDropped);
  EXPECT_EQ(rows[0].last_error_at, kViewTestNow - 30s);
  EXPECT_EQ(rows[1].oldest, kViewTestNow - 5min);
  EXPECT_FALSE(rows[1].last_error_at);  // never tried
  Json json = hop_rows_json(rows);
  EXPECT_EQ(json[0]["oldest"], "2024-05-01T10:35:50Z");
  EXPECT_EQ(json[0]["last_error_at"], "2024-05-01T12:35:20Z");
  EXPECT_TRUE(json[1]["last_error_at"].is_null());
  auto back = hop_rows_from_json(json);
  ASSERT_TRUE(back);
  EXPECT_EQ((*back)[0].oldest, kViewTestNow - 2h);
  EXPECT_EQ((*back)[0].last_error_at, kViewTestNow - 30s);
  EXPECT_FALSE((*back)[1].last_error_at);
}

TEST(HopRows, ReadyWhenAnyRecipientIsDueAndActiveWins) {
  std::vector<Envelope> queue = {
      message("B1", {rcpt("a@x.example", S::Deferred, kViewTestNow + 60s, kDropped, kViewTestNow - 60s)}),
      message("B2",
              {rcpt("b@x.example", S::Deferred, kViewTestNow, kDropped, kViewTestNow - 120s)}),  // due exactly now
      message("B3", {rcpt("c@y.example", S::Deferred, kViewTestNow + 60s, kDropped, kViewTestNow - 60s)}),
  };
  auto rows = hop_rows(queue, {}, {{"y.example", {1, {}, ""}}, {"x.example", {0, {}, ""}}}, kViewTestNow);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].status, "Ready");  // an active count of 0 is not active
  EXPECT_FALSE(rows[0].next_retry);    // Ready: nothing to wait for, whatever B1 waits for
  EXPECT_EQ(rows[1].status, "Active");
}

TEST(HopRows, LastErrorTieGoesToTheLaterMessage) {
  std::vector<Envelope> queue = {
      message("C1", {rcpt("a@x.example", S::Deferred, kViewTestNow + 60s, "451 first", {})}),
      message("C2", {rcpt("b@x.example", S::Deferred, kViewTestNow + 60s, "451 second", {})}),
  };
  EXPECT_EQ(hop_rows(queue, {}, {}, kViewTestNow).at(0).last_error, "451 second");
}

TEST(HopRows, DomainFilterMatchesHopOrRecipientDomain) {
  std::vector<Envelope> queue = {
      message("D1", {rcpt("a@partner.example", S::Pending, {}, "", {}, "[10.0.0.5]:25"),
                     rcpt("b@other.example", S::Pending, {}, "", {}, "[10.0.0.5]:25")}),
      message("D2", {rcpt("c@partner.example", S::Pending)}),
      message("D3", {rcpt("d@third.example", S::Pending)}),
  };
  auto rows = hop_rows(queue, filter({{"domain", "PARTNER.example"}}), {}, kViewTestNow);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].next_hop, "[10.0.0.5]:25");
  EXPECT_EQ(rows[0].messages, 1u);
  EXPECT_EQ(rows[1].next_hop, "partner.example");
  rows = hop_rows(queue, filter({{"domain", "[10.0.0.5]:25"}}), {}, kViewTestNow);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].messages, 1u);
  EXPECT_TRUE(hop_rows(queue, filter({{"domain", "nowhere.example"}}), {}, kViewTestNow).empty());
}

TEST(HopRows, StatusFilterIsCaseInsensitive) {
  std::vector<Envelope> queue = {
      message("E1", {rcpt("a@x.example", S::Deferred, kViewTestNow + 60s, kDropped, kViewTestNow - 60s)}),
      message("E2", {rcpt("b@y.example", S::Pending)}),
  };
  auto rows = hop_rows(queue, filter({{"status", "retry"}}), {}, kViewTestNow);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].next_hop, "x.example");
  rows = hop_rows(queue, filter({{"status", "READY"}}), {}, kViewTestNow);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].next_hop, "y.example");
  EXPECT_FALSE(filter_from_json({{"status", "bogus"}}));
  EXPECT_TRUE(hop_rows(std::vector<Envelope>{}, {}, {}, kViewTestNow).empty());
}

TEST(HopRows, OtherFiltersSelectMessagesAndRecipients) {
  std::vector<Envelope> queue = {
      message("F1", {rcpt("a@x.example", S::Pending), rcpt("b@y.example", S::Pending)}),
      message("F2", {rcpt("c@x.example", S::Pending)}),
  };
  queue[1].mail_from = "";
  queue[1].received = kViewTestNow - 3h;
  auto hops = [&](const Json& json) {
    std::vector<std::pair<std::string, std::size_t>> out;
    for (const auto& row : hop_rows(queue, filter(json), {}, kViewTestNow))
      out.emplace_back(row.next_hop, row.messages);
    return out;
  };
  using Rows = std::vector<std::pair<std::string, std::size_t>>;
  EXPECT_EQ(hops({{"hop", "x.example"}}), (Rows{{"x.example", 2}}));
  EXPECT_EQ(hops({{"recipient", "B@*"}}), (Rows{{"y.example", 1}}));
  EXPECT_EQ(hops({{"sender", "<>"}}), (Rows{{"x.example", 1}}));
  EXPECT_EQ(hops({{"older_than", 7200}}), (Rows{{"x.example", 1}}));
  EXPECT_EQ(hops({{"sender", "*@example.org"}, {"older_than", 7200}}), Rows{});
}

TEST(RelativeTime, TwoUnitsAtMost) {
  EXPECT_EQ(relative_time(kViewTestNow + 250s, kViewTestNow), "in 4m 10s");
  EXPECT_EQ(relative_time(kViewTestNow + 45s, kViewTestNow), "in 45s");
  EXPECT_EQ(relative_time(kViewTestNow + 2h + 5min + 7s, kViewTestNow), "in 2h 5m");
  EXPECT_EQ(relative_time(kViewTestNow + 2h + 7s, kViewTestNow), "in 2h");
  EXPECT_EQ(relative_time(kViewTestNow - 27h, kViewTestNow), "1d 3h ago");
  EXPECT_EQ(relative_time(kViewTestNow + 500ms, kViewTestNow), "now");
  EXPECT_EQ(relative_time(kViewTestNow, kViewTestNow), "now");
}

TEST(HopRowsJson, RoundTrips) {
  std::vector<HopRow> rows = {{"partner.example", "Retry", 2, kDropped, kViewTestNow + 250s, {}, {}},
                              {"local", "Ready", 1, "", std::nullopt, {}, {}}};
  Json json = hop_rows_json(rows);
  EXPECT_EQ(json[0]["next_retry"], "2024-05-01T12:40:00Z");
  EXPECT_EQ(json[0]["last_error"], kDropped);
  EXPECT_TRUE(json[1]["next_retry"].is_null());
  auto back = hop_rows_from_json(json);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].next_hop, "partner.example");
  EXPECT_EQ((*back)[0].messages, 2u);
  EXPECT_EQ((*back)[0].next_retry, kViewTestNow + 250s);
  EXPECT_FALSE((*back)[1].next_retry);
}

TEST(HopRowsJson, BadShapesAreRefused) {
  EXPECT_FALSE(hop_rows_from_json(Json::object()));
  EXPECT_FALSE(hop_rows_from_json(Json::array({1})));
  Json row = {{"next_hop", "x"}, {"status", "Ready"}, {"messages", 1}, {"last_error", ""}, {"next_retry", nullptr}};
  EXPECT_TRUE(hop_rows_from_json(Json::array({row})));
  Json bad = row;
  bad["messages"] = -1;
  EXPECT_FALSE(hop_rows_from_json(Json::array({bad})));
  bad = row;
  bad["next_retry"] = "yesterday";
  EXPECT_FALSE(hop_rows_from_json(Json::array({bad})));
  bad = row;
  bad.erase("status");
  EXPECT_FALSE(hop_rows_from_json(Json::array({bad})));
  bad = row;
  bad["oldest"] = 7;  // optional (older gateways leave it out), but not anything
  EXPECT_FALSE(hop_rows_from_json(Json::array({bad})));
}

TEST(MessageJson, FieldsAndRoundTrip) {
  auto e = message("0005F1A2B3C40001",
                   {rcpt("carol@Partner.example", S::Deferred, kViewTestNow + 250s, kDropped, kViewTestNow - 10s)});
  e.recipients[0].attempts = 2;
  Json json = message_json(e);
  EXPECT_EQ(json["id"], "0005F1A2B3C40001");
  EXPECT_EQ(json["from"], "alice@example.org");
  EXPECT_EQ(json["received"], "2024-05-01T12:30:50Z");
  EXPECT_EQ(json["size"], 1234);
  EXPECT_EQ(json["connector"], "inbound");
  EXPECT_EQ(json["client"], (Json{{"address", "192.0.2.1"}, {"helo", "mx.example.org"}}));
  EXPECT_EQ(json["tls"], (Json{{"version", "TLS1_3"}, {"cipher", "TLS_AES_256_GCM_SHA384"}}));
  const Json& r = json["recipients"][0];
  EXPECT_EQ(r["address"], "carol@Partner.example");
  EXPECT_EQ(r["state"], "deferred");
  EXPECT_EQ(r["attempts"], 2);
  EXPECT_EQ(r["next_hop"], "partner.example");
  EXPECT_EQ(r["last_reply"], kDropped);
  EXPECT_EQ(r["next_attempt"], "2024-05-01T12:40:00Z");
  EXPECT_EQ(r["last_attempt"], "2024-05-01T12:35:40Z");

  auto back = message_from_json(json);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->id, e.id);
  EXPECT_EQ(back->received, e.received);
  EXPECT_EQ(back->tls_cipher, e.tls_cipher);
  EXPECT_EQ(back->client_helo, "mx.example.org");
  ASSERT_EQ(back->recipients.size(), 1u);
  EXPECT_EQ(back->recipients[0].next_attempt, kViewTestNow + 250s);
  EXPECT_EQ(back->recipients[0].last_attempt, kViewTestNow - 10s);
  EXPECT_EQ(back->recipients[0].state, S::Deferred);
  EXPECT_EQ(render_message(*back, kViewTestNow), render_message(e, kViewTestNow));
}

TEST(MessageJson, PlaintextAndNullSender) {
  auto e = message("X", {rcpt("bob@localhost", S::Pending)});
  e.tls_version.clear();
  e.tls_cipher.clear();
  e.mail_from.clear();
  Json json = message_json(e);
  EXPECT_TRUE(json["tls"].is_null());
  EXPECT_EQ(json["from"], "");
  EXPECT_TRUE(json["recipients"][0]["next_attempt"].is_null());
  EXPECT_TRUE(json["recipients"][0]["last_attempt"].is_null());
  auto back = message_from_json(json);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->tls_version, "");
  EXPECT_EQ(back->recipients[0].next_attempt, TimePoint{});
}

TEST(MessageJson, BadShapesAreRefused) {
  Json good = message_json(message("X", {rcpt("bob@localhost", S::Pending)}));
  ASSERT_TRUE(message_from_json(good));
  EXPECT_FALSE(message_from_json(Json("text")));
  for (const char* key : {"id", "from", "received", "size", "client", "tls", "recipients"}) {
    Json bad = good;
    bad.erase(key);
    EXPECT_FALSE(message_from_json(bad)) << key;
  }
  Json bad = good;
  bad["recipients"][0]["state"] = "lost";
  EXPECT_FALSE(message_from_json(bad));
  bad = good;
  bad["recipients"][0]["attempts"] = -3;
  EXPECT_FALSE(message_from_json(bad));
  bad = good;
  bad["size"] = -1;
  EXPECT_FALSE(message_from_json(bad));
  bad = good;
  bad["size"] = "big";
  EXPECT_FALSE(message_from_json(bad));
  bad = good;
  bad["client"] = "192.0.2.1";
  EXPECT_FALSE(message_from_json(bad));
}

TEST(RenderHopRows, AlignedTableWithWholeError) {
  std::vector<HopRow> rows = {{"partner.example", "Retry", 12, kDropped, kViewTestNow + 250s, {}, {}},
                              {"local", "Ready", 1, "", std::nullopt, {}, {}}};
  EXPECT_EQ(render_hop_rows(rows, kViewTestNow),
            "NEXT HOP         STATUS  MESSAGES  NEXT RETRY  LAST ERROR\n"
            "partner.example  Retry         12  in 4m 10s   421 4.4.2 Connection dropped due to SocketError\n"
            "local            Ready          1  -           -\n");
  EXPECT_EQ(render_hop_rows({}, kViewTestNow), "No queued messages.\n");
}

TEST(RenderHopRows, ControlCharactersAreEscaped) {
  std::vector<HopRow> rows = {{"evil.example", "Retry", 1, "421 \x1b[2Jgone\r\n\xc2\x9b", kViewTestNow + 1s, {}, {}}};
  std::string out = render_hop_rows(rows, kViewTestNow);
  EXPECT_NE(out.find("421 \\x1B[2Jgone\\x0D\\x0A\\u009B\n"), std::string::npos) << out;
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
}

TEST(RenderMessage, Detail) {
  auto e = message("0005F1A2B3C40001",
                   {rcpt("carol@partner.example", S::Deferred, kViewTestNow + 250s, kDropped, kViewTestNow - 10s),
                    rcpt("bob@localhost", S::Delivered)});
  e.recipients[0].attempts = 2;
  EXPECT_EQ(render_message(e, kViewTestNow),
            "Message 0005F1A2B3C40001\n"
            "  From:         <alice@example.org>\n"
            "  Received:     2024-05-01T12:30:50Z (5m ago)\n"
            "  Size:         1234 bytes\n"
            "  Body:         8BITMIME\n"
            "  Connector:    inbound\n"
            "  Client:       192.0.2.1 (mx.example.org)\n"
            "  TLS:          TLS1_3 TLS_AES_256_GCM_SHA384\n"
            "Recipients (2):\n"
            "  <carol@partner.example>\n"
            "    State:      deferred, 2 attempts\n"
            "    Next hop:   partner.example\n"
            "    Last try:   2024-05-01T12:35:40Z (10s ago)\n"
            "    Next try:   2024-05-01T12:40:00Z (in 4m 10s)\n"
            "    Last reply: 421 4.4.2 Connection dropped due to SocketError\n"
            "  <bob@localhost>\n"
            "    State:      delivered, 0 attempts\n"
            "    Next hop:   localhost\n"
            "    Last try:   -\n"
            "    Next try:   -\n"
            "    Last reply: -\n");
}

}  // namespace
}  // namespace sluice::queue
