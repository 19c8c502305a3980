#include "queue/drain_control.h"

#include <gtest/gtest.h>

#include "queue/envelope.h"

namespace sluice::queue {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

const std::chrono::system_clock::time_point kDrainTestNow = *parse_utc_time("2030-01-01T00:00:00Z");

/// A node that records each drain request, as a gateway would keep its state.
class FakeNode : public DrainControl {
 public:
  DrainState drain(std::optional<std::chrono::seconds> deadline) override {
    requests.push_back(deadline);
    state.draining = true;
    if (deadline) state.deadline = kDrainTestNow + *deadline;
    return state;
  }
  DrainState drain_state() const override { return state; }

  DrainState state{.draining = false, .deadline = std::nullopt, .messages = 3, .sessions = 1, .pid = 4242};
  std::vector<std::optional<std::chrono::seconds>> requests;
};

TEST(DrainControl, RecognisesOnlyItsCommands) {
  EXPECT_TRUE(is_drain_request({{"command", "drain"}}));
  EXPECT_TRUE(is_drain_request({{"command", "drain-status"}}));
  EXPECT_FALSE(is_drain_request({{"command", "list"}}));
  EXPECT_FALSE(is_drain_request(Json::object()));
}

TEST(DrainControl, DrainStartsDrainingAndAnswersTheState) {
  FakeNode node;
  Json answer = drain_answer({{"command", "drain"}, {"deadline_seconds", 1800}}, node);
  ASSERT_EQ(answer["ok"], true) << answer.dump();
  ASSERT_EQ(node.requests.size(), 1u);
  EXPECT_EQ(node.requests[0], std::optional<std::chrono::seconds>(1800s));
  EXPECT_EQ(answer["draining"], true);
  EXPECT_EQ(answer["was_draining"], false);
  EXPECT_EQ(answer["messages"], 3);
  EXPECT_EQ(answer["sessions"], 1);
  EXPECT_EQ(answer["pid"], 4242);
  EXPECT_EQ(answer["deadline"], "2030-01-01T00:30:00Z");
}

TEST(DrainControl, WithoutDeadlineDrainsUntilEmpty) {
  FakeNode node;
  Json answer = drain_answer({{"command", "drain"}}, node);
  ASSERT_EQ(node.requests.size(), 1u);
  EXPECT_FALSE(node.requests[0].has_value());
  EXPECT_TRUE(answer["deadline"].is_null());
}

TEST(DrainControl, SecondDrainSaysItWasDrainingAlready) {
  FakeNode node;
  drain_answer({{"command", "drain"}}, node);
  Json again = drain_answer({{"command", "drain"}}, node);
  EXPECT_EQ(again["ok"], true);
  EXPECT_EQ(again["was_draining"], true);
  EXPECT_EQ(again["draining"], true);
}

TEST(DrainControl, StatusOnlyReadsTheState) {
  FakeNode node;
  Json answer = drain_answer({{"command", "drain-status"}}, node);
  EXPECT_TRUE(node.requests.empty());
  EXPECT_EQ(answer["ok"], true);
  EXPECT_EQ(answer["draining"], false);
  EXPECT_FALSE(answer.contains("was_draining"));
}

TEST(DrainControl, RejectsBadDeadlines) {
  for (const Json& bad : {Json(0), Json(-5), Json("30m"), Json(1.5), Json(kMaxDrainDeadline.count() + 1)}) {
    FakeNode node;
    Json answer = drain_answer({{"command", "drain"}, {"deadline_seconds", bad}}, node);
    EXPECT_EQ(answer["ok"], false) << bad.dump();
    EXPECT_NE(answer.value("error", "").find("deadline_seconds"), std::string::npos) << answer.dump();
    EXPECT_TRUE(node.requests.empty()) << "a bad request must not start draining";
  }
}

TEST(DrainControl, StateRoundTripsThroughTheAnswer) {
  FakeNode node;
  auto state = drain_state_from_json(drain_answer({{"command", "drain"}, {"deadline_seconds", 60}}, node));
  ASSERT_TRUE(state);
  EXPECT_TRUE(state->draining);
  EXPECT_EQ(state->messages, 3u);
  EXPECT_EQ(state->sessions, 1u);
  EXPECT_EQ(state->pid, 4242);
  EXPECT_EQ(state->deadline, kDrainTestNow + 60s);
  EXPECT_FALSE(drain_state_from_json({{"ok", true}, {"hops", Json::array()}}));
  EXPECT_FALSE(drain_state_from_json(
      {{"draining", true}, {"messages", 1}, {"sessions", 0}, {"pid", 1}, {"deadline", "yesterday"}}));
}

}  // namespace
}  // namespace sluice::queue
