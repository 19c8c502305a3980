#include "queue/control_protocol.h"

#include <gtest/gtest.h>

namespace sluice::queue {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using TimePoint = std::chrono::system_clock::time_point;

/// One message "A1" to b@x.example, deferred; records what the protocol asked for.
class FakeQueue : public QueueControl {
 public:
  FakeQueue() { add("A1", "a@example.org", "b@x.example", now() - 1h, now() + 60s); }
  /// A message with one recipient deferred until `next_attempt`.
  void add(std::string id, std::string from, std::string to, TimePoint received, TimePoint next_attempt) {
    Envelope e;
    e.id = std::move(id);
    e.mail_from = std::move(from);
    e.received = received;
    Recipient r;
    r.address = std::move(to);
    r.state = Recipient::State::Deferred;
    r.next_attempt = next_attempt;
    r.last_reply = smtp::make_reply(421, "4.4.2", "Connection dropped due to SocketError");
    e.recipients.push_back(r);
    envelopes_.push_back(std::move(e));
  }
  std::vector<const Envelope*> envelopes() const override {
    std::vector<const Envelope*> out;
    for (const auto& e : envelopes_) out.push_back(&e);
    return out;
  }
  const Envelope* find(const std::string& id) const override {
    for (const auto& e : envelopes_)
      if (e.id == id) return &e;
    return nullptr;
  }
  LiveHops hops() const override { return live_; }
  Loading loading() const override { return loading_; }
  TimePoint now() const override { return std::chrono::sys_days{std::chrono::year{2030} / 1 / 1}; }
  std::size_t retry(const std::vector<std::string>& ids, const QueueFilter& filter, bool every_hop) override {
    retried.push_back({ids, filter_json(filter), every_hop});
    return ids.size();
  }
  void remove(const std::string& id, bool bounce) override { removed.emplace_back(id, bounce); }

  struct Retried {
    std::vector<std::string> ids;
    Json filter;
    bool every_hop;
  };
  Loading loading_;
  LiveHops live_;
  std::vector<Retried> retried;
  std::vector<std::pair<std::string, bool>> removed;

 private:
  std::vector<Envelope> envelopes_;
};

TEST(ControlProtocol, ListShowsTheHops) {
  FakeQueue queue;
  auto answer = control_answer({{"command", "list"}}, queue);
  ASSERT_TRUE(answer["ok"].get<bool>());
  ASSERT_EQ(answer["hops"].size(), 1u);
  EXPECT_EQ(answer["hops"][0]["next_hop"], "x.example");
  EXPECT_EQ(answer["hops"][0]["status"], "Retry");
  EXPECT_EQ(answer["hops"][0]["last_error"], "421 4.4.2 Connection dropped due to SocketError");
  EXPECT_EQ(answer["now"], "2030-01-01T00:00:00Z");
  EXPECT_FALSE(answer.contains("loading"));
}

TEST(ControlProtocol, ShowRetryAndRemove) {
  FakeQueue queue;
  auto shown = control_answer({{"command", "show"}, {"id", "A1"}}, queue);
  ASSERT_TRUE(shown["ok"].get<bool>());
  EXPECT_EQ(shown["message"]["recipients"][0]["last_reply"], "421 4.4.2 Connection dropped due to SocketError");
  EXPECT_EQ(control_answer({{"command", "show"}, {"id", "ZZ"}}, queue)["error"], "no message ZZ in the queue");

  auto retried = control_answer({{"command", "retry"}, {"filter", {{"domain", "X.Example"}}}}, queue);
  EXPECT_EQ(retried["retried"], 1);
  ASSERT_EQ(queue.retried.size(), 1u);
  EXPECT_EQ(queue.retried[0].ids, std::vector<std::string>{"A1"});
  EXPECT_EQ(queue.retried[0].filter, (Json{{"domain", "x.example"}}));  // recipients of that domain only
  EXPECT_FALSE(queue.retried[0].every_hop);
  EXPECT_FALSE(control_answer({{"command", "retry"}, {"id", "ZZ"}}, queue)["ok"].get<bool>());
  EXPECT_EQ(queue.retried.size(), 1u) << "an unknown id is not retried";

  EXPECT_EQ(control_answer({{"command", "remove"}, {"id", "A1"}, {"bounce", true}}, queue)["removed"], 1);
  EXPECT_FALSE(control_answer({{"command", "remove"}, {"id", "ZZ"}}, queue)["ok"].get<bool>());
  ASSERT_EQ(queue.removed.size(), 1u);
  EXPECT_EQ(queue.removed[0], std::make_pair(std::string("A1"), true));

  EXPECT_EQ(control_answer({{"command", "frobnicate"}}, queue)["error"], "unknown command \"frobnicate\"");
}

TEST(ControlProtocol, WhileTheSpoolIsReadNothingChangesAndNothingIsSaidMissing) {
  FakeQueue queue;
  queue.loading_ = {200, 1000};
  auto list = control_answer({{"command", "list"}}, queue);
  EXPECT_EQ(list["loading"]["read"], 200);
  EXPECT_EQ(list["loading"]["total"], 1000);
  // A known message can be shown; an unknown one may still be in the spool.
  EXPECT_TRUE(control_answer({{"command", "show"}, {"id", "A1"}}, queue)["ok"].get<bool>());
  auto unknown = control_answer({{"command", "show"}, {"id", "ZZ"}}, queue);
  EXPECT_FALSE(unknown["ok"].get<bool>());
  EXPECT_NE(unknown["error"].get<std::string>().find("still reading its spool after a restart (200 of 1000 messages)"),
            std::string::npos);
  EXPECT_FALSE(control_answer({{"command", "retry"}, {"all", true}}, queue)["ok"].get<bool>());
  EXPECT_FALSE(control_answer({{"command", "remove"}, {"id", "A1"}}, queue)["ok"].get<bool>());
  EXPECT_FALSE(control_answer({{"command", "remove"}, {"filter", {{"hop", "x.example"}}}}, queue)["ok"].get<bool>());
  auto messages = control_answer({{"command", "messages"}}, queue);  // reading is fine, and says so
  EXPECT_EQ(messages["total"], 1);
  EXPECT_EQ(messages["loading"]["read"], 200);
  EXPECT_TRUE(queue.retried.empty());
  EXPECT_TRUE(queue.removed.empty());
}

TEST(ControlProtocol, ListFiltersOnTheGatewaySide) {
  FakeQueue queue;
  queue.add("A2", "c@example.org", "d@y.example", queue.now() - 5min, {});
  auto hops = [&](const Json& filter) {
    std::vector<std::string> out;
    auto answer = control_answer({{"command", "list"}, {"filter", filter}}, queue);
    for (const auto& row : answer["hops"]) out.push_back(row["next_hop"]);
    return out;
  };
  EXPECT_EQ(hops(Json::object()), (std::vector<std::string>{"x.example", "y.example"}));
  EXPECT_EQ(hops({{"status", "ready"}}), std::vector<std::string>{"y.example"});
  EXPECT_EQ(hops({{"older_than", 1800}}), std::vector<std::string>{"x.example"});
  EXPECT_EQ(hops({{"sender", "C@*"}}), std::vector<std::string>{"y.example"});
  auto bad = control_answer({{"command", "list"}, {"filter", {{"status", "Suspended"}}}}, queue);
  EXPECT_EQ(bad, (Json{{"ok", false}, {"error", "\"Suspended\" is not a status: use Active, Ready or Retry"}}));
}

TEST(ControlProtocol, MessagesArePagedOldestFirstWithTheTotal) {
  FakeQueue queue;  // A1, an hour old
  const auto now = queue.now();
  for (int i = 0; i < 5; ++i)
    queue.add("B" + std::to_string(i), "x@example.org", "r" + std::to_string(i) + "@z.example",
              now - std::chrono::minutes(10 - i), now + 30s);
  queue.add("B9", "x@example.org", "late@z.example", now - 10min, now + 30s);  // same time as B0: by id
  Json request = {{"command", "messages"}, {"filter", {{"hop", "z.example"}}}, {"limit", 4}};
  std::vector<std::string> ids;
  for (int page = 0; page < 5; ++page) {
    auto answer = control_answer(request, queue);
    ASSERT_TRUE(answer["ok"].get<bool>()) << answer;
    EXPECT_EQ(answer["total"], 6);
    EXPECT_EQ(answer["now"], "2030-01-01T00:00:00Z");
    for (const auto& row : answer["messages"]) ids.push_back(row["id"]);
    if (!answer["more"].get<bool>()) break;
    const auto& last = answer["messages"].back();
    request["after"] = {{"received", last["received"]}, {"id", last["id"]}};
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"B0", "B9", "B1", "B2", "B3", "B4"}));

  auto one = control_answer({{"command", "messages"}, {"filter", {{"recipient", "b@*"}}}}, queue);
  ASSERT_EQ(one["messages"].size(), 1u);
  const auto& row = one["messages"][0];
  EXPECT_EQ(row["id"], "A1");
  EXPECT_EQ(row["status"], "Retry");
  EXPECT_EQ(row["next_retry"], "2030-01-01T00:01:00Z");
  EXPECT_EQ(row["next_hops"], (Json{"x.example"}));
  EXPECT_EQ(row["recipients"][0]["last_error"], "421 4.4.2 Connection dropped due to SocketError");

  for (const Json& limit : {Json(0), Json(5001), Json("5"), Json(-1)})
    EXPECT_FALSE(control_answer({{"command", "messages"}, {"limit", limit}}, queue)["ok"].get<bool>()) << limit;
  EXPECT_FALSE(control_answer({{"command", "messages"}, {"after", "B0"}}, queue)["ok"].get<bool>());
}

TEST(ControlProtocol, StatusOfAMessageFollowsItsHop) {
  FakeQueue queue;
  queue.live_["x.example"].running = 1;
  queue.live_["x.example"].delivering = {"A1"};
  auto answer = control_answer({{"command", "messages"}}, queue);
  // A1's recipient is not due (next attempt in 60 s): it is not in the running job.
  EXPECT_EQ(answer["messages"][0]["status"], "Retry");
  queue.add("A2", "c@example.org", "d@x.example", queue.now(), queue.now() - 1s);
  queue.live_["x.example"].delivering = {"A2"};
  answer = control_answer({{"command", "messages"}, {"filter", {{"status", "Active"}}}}, queue);
  ASSERT_EQ(answer["messages"].size(), 1u);
  EXPECT_EQ(answer["messages"][0]["id"], "A2");
  EXPECT_EQ(answer["messages"][0]["next_retry"], nullptr);
}

TEST(ControlProtocol, ChangesNameTheirTargetExactlyOnce) {
  FakeQueue queue;
  queue.add("A2", "c@example.org", "d@y.example", queue.now() - 5min, {});
  auto error = [&](const Json& request) { return control_answer(request, queue).value("error", std::string("ok")); };
  const std::string which = "say which messages: \"id\", \"filter\" or \"all\": true";
  EXPECT_EQ(error({{"command", "retry"}}), which);
  EXPECT_EQ(error({{"command", "remove"}, {"id", "A1"}, {"all", true}}), which);
  EXPECT_EQ(error({{"command", "remove"}, {"filter", Json::object()}}),
            "an empty \"filter\" would take every message: say \"all\": true");
  EXPECT_EQ(error({{"command", "remove"}, {"filter", {{"sender", 1}}}}), "filter \"sender\" must be a string");
  EXPECT_TRUE(queue.retried.empty());
  EXPECT_TRUE(queue.removed.empty());

  EXPECT_EQ(control_answer({{"command", "retry"}, {"all", true}}, queue)["retried"], 2);
  EXPECT_TRUE(queue.retried.back().every_hop);
  auto removed = control_answer({{"command", "remove"}, {"filter", {{"sender", "c@*"}}}}, queue);
  EXPECT_EQ(removed["removed"], 1);
  EXPECT_EQ(queue.removed, (std::vector<std::pair<std::string, bool>>{{"A2", false}}));  // no bounce unless asked
  // Bounded by a time: what arrived after it is left alone.
  removed = control_answer(
      {{"command", "remove"}, {"filter", {{"received_before", "2029-12-31T23:00:00Z"}}}, {"bounce", true}}, queue);
  EXPECT_EQ(removed["removed"], 0);
}

}  // namespace
}  // namespace sluice::queue
