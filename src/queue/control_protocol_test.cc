#include "queue/control_protocol.h"

#include <gtest/gtest.h>

namespace sluice::queue {
namespace {

using namespace std::chrono_literals;

/// One message "A1" to b@x.example, deferred; records what the protocol asked for.
class FakeQueue : public QueueControl {
 public:
  FakeQueue() {
    envelope_.id = "A1";
    envelope_.mail_from = "a@example.org";
    Recipient r;
    r.address = "b@x.example";
    r.state = Recipient::State::Deferred;
    r.next_attempt = now() + 60s;
    r.last_reply = smtp::make_reply(421, "4.4.2", "Connection dropped due to SocketError");
    envelope_.recipients.push_back(r);
  }
  std::vector<const Envelope*> envelopes() const override { return {&envelope_}; }
  const Envelope* find(const std::string& id) const override { return id == envelope_.id ? &envelope_ : nullptr; }
  std::map<std::string, HopLive> hops() const override { return {}; }
  Loading loading() const override { return loading_; }
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::sys_days{std::chrono::year{2030} / 1 / 1};
  }
  std::size_t retry(const std::string& id, const std::string& domain) override {
    retried.emplace_back(id, domain);
    return 1;
  }
  void remove(const std::string& id, bool bounce) override { removed.emplace_back(id, bounce); }

  Loading loading_;
  std::vector<std::pair<std::string, std::string>> retried;
  std::vector<std::pair<std::string, bool>> removed;

 private:
  Envelope envelope_;
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

  auto retried = control_answer({{"command", "retry"}, {"domain", "X.Example"}}, queue);
  EXPECT_EQ(retried["retried"], 1);
  ASSERT_EQ(queue.retried.size(), 1u);
  EXPECT_EQ(queue.retried[0], std::make_pair(std::string(), std::string("x.example")));
  EXPECT_FALSE(control_answer({{"command", "retry"}, {"id", "ZZ"}}, queue)["ok"].get<bool>());
  EXPECT_EQ(queue.retried.size(), 1u) << "an unknown id is not retried";

  EXPECT_TRUE(control_answer({{"command", "remove"}, {"id", "A1"}, {"bounce", true}}, queue)["ok"].get<bool>());
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
  EXPECT_FALSE(control_answer({{"command", "retry"}}, queue)["ok"].get<bool>());
  EXPECT_FALSE(control_answer({{"command", "remove"}, {"id", "A1"}}, queue)["ok"].get<bool>());
  EXPECT_TRUE(queue.retried.empty());
  EXPECT_TRUE(queue.removed.empty());
}

}  // namespace
}  // namespace sluice::queue
