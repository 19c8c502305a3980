#include "cli/node_drain.h"

#include <gtest/gtest.h>

namespace sluice::cli {
namespace {

using namespace std::chrono_literals;
using TimePoint = std::chrono::system_clock::time_point;

const TimePoint kNodeDrainNow = TimePoint{} + 1000h;

TEST(DrainEnd, GoesOnWhileAnythingIsLeft) {
  EXPECT_FALSE(drain_end({.sessions = 1}, std::nullopt, kNodeDrainNow));
  EXPECT_FALSE(drain_end({.messages = 2}, std::nullopt, kNodeDrainNow));
  EXPECT_FALSE(drain_end({.running = 1}, std::nullopt, kNodeDrainNow));
  EXPECT_FALSE(drain_end({.messages = 2}, kNodeDrainNow + 1s, kNodeDrainNow));
}

TEST(DrainEnd, DrainedWhenNothingIsLeftEvenPastTheDeadline) {
  EXPECT_EQ(drain_end({}, std::nullopt, kNodeDrainNow), DrainEnd::Drained);
  EXPECT_EQ(drain_end({}, kNodeDrainNow - 1s, kNodeDrainNow), DrainEnd::Drained);
}

TEST(DrainEnd, DeadlineWithMailLeft) {
  EXPECT_EQ(drain_end({.messages = 3}, kNodeDrainNow, kNodeDrainNow), DrainEnd::Deadline);
  EXPECT_EQ(drain_end({.sessions = 1}, kNodeDrainNow - 1s, kNodeDrainNow), DrainEnd::Deadline);
}

TEST(DrainingStatusLine, SaysWhatIsLeft) {
  EXPECT_EQ(draining_status_line({.messages = 12}), "draining: 12 messages left");
  EXPECT_EQ(draining_status_line({.sessions = 1, .messages = 1}), "draining: 1 message left, 1 session");
  EXPECT_EQ(draining_status_line({.sessions = 2}), "draining: 0 messages left, 2 sessions");
}

/// A gateway whose queue the test empties, recording what the drain did to it.
struct FakeGateway {
  DrainProgress progress{.sessions = 1, .messages = 2};
  int stop_accepting_calls = 0;
  int retry_calls = 0;
  int retry_refusals = 0;  ///< answers false this many times first (the spool still loading)
  std::vector<std::pair<DrainEnd, std::size_t>> ends;

  NodeDrain::Hooks hooks() {
    return {.stop_accepting = [this] { ++stop_accepting_calls; },
            .retry_all = [this] { return ++retry_calls > retry_refusals; },
            .progress = [this] { return progress; },
            .finished = [this](DrainEnd end, std::size_t left) { ends.emplace_back(end, left); }};
  }
};

TEST(NodeDrain, StopsAcceptingRetriesOnceAndEndsWhenEmpty) {
  asio::io_context io;
  FakeGateway gateway;
  gateway.retry_refusals = 1;
  NodeDrain drain(io, gateway.hooks());
  drain.period = 1ms;
  EXPECT_FALSE(drain.drain_state().draining);
  auto state = drain.drain(std::nullopt);
  EXPECT_TRUE(state.draining);
  EXPECT_EQ(state.messages, 2u);
  EXPECT_FALSE(state.deadline);
  EXPECT_EQ(gateway.stop_accepting_calls, 1);
  drain.drain(std::nullopt);  // a second drain changes nothing
  EXPECT_EQ(gateway.stop_accepting_calls, 1);
  // Until the queue says it took the retry, it is asked again; then never more.
  while (gateway.retry_calls < 2) io.run_one();
  for (int i = 0; i < 5; ++i) io.run_one();
  EXPECT_EQ(gateway.retry_calls, 2);
  EXPECT_TRUE(gateway.ends.empty());
  gateway.progress.messages = 0;
  io.run_one();
  EXPECT_TRUE(gateway.ends.empty()) << "a session still open may yet hand over a message";
  gateway.progress.sessions = 0;
  io.run();  // the drain's timer ends with the drain
  ASSERT_EQ(gateway.ends.size(), 1u);
  EXPECT_EQ(gateway.ends[0], std::make_pair(DrainEnd::Drained, std::size_t{0}));
}

TEST(NodeDrain, EndsAtTheDeadlineWithWhatIsLeft) {
  asio::io_context io;
  FakeGateway gateway;
  NodeDrain drain(io, gateway.hooks());
  drain.period = 1ms;
  drain.drain(std::nullopt);
  auto state = drain.drain(1s);  // a second drain may set the deadline
  ASSERT_TRUE(state.deadline);
  EXPECT_GT(*state.deadline, std::chrono::system_clock::now());
  io.run();
  ASSERT_EQ(gateway.ends.size(), 1u);
  EXPECT_EQ(gateway.ends[0], std::make_pair(DrainEnd::Deadline, std::size_t{2}));
  EXPECT_GE(std::chrono::system_clock::now(), *state.deadline);
}

TEST(NodeDrain, StoppedGatewayDoesNotStartDraining) {
  asio::io_context io;
  FakeGateway gateway;
  NodeDrain drain(io, gateway.hooks());
  drain.stop();
  EXPECT_FALSE(drain.drain(std::nullopt).draining);
  EXPECT_EQ(gateway.stop_accepting_calls, 0);
  io.run();
  EXPECT_TRUE(gateway.ends.empty());
}

}  // namespace
}  // namespace sluice::cli
