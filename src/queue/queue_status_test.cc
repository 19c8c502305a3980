#include "queue/queue_status.h"

#include <gtest/gtest.h>

#include "queue/view_test_clock.h"

namespace sluice::queue {
namespace {

using namespace std::chrono_literals;
using TimePoint = std::chrono::system_clock::time_point;

struct Case {
  Envelope envelope;
  Recipient& recipient() { return envelope.recipients[0]; }
};

Case deferred(TimePoint next_attempt) {
  Case c;
  c.envelope.id = "A1";
  Recipient r;
  r.address = "bob@x.example";
  r.state = Recipient::State::Deferred;
  r.next_attempt = next_attempt;
  c.envelope.recipients.push_back(r);
  return c;
}

// The rule: Ready and Active never have a next retry; Retry always has one, in the future.
void expect_consistent(const Standing& s) {
  if (s.status == kRetry) {
    ASSERT_TRUE(s.next_retry);
    EXPECT_GT(*s.next_retry, kViewTestNow);
  } else {
    EXPECT_FALSE(s.next_retry) << s.status;
  }
}

TEST(RecipientStanding, OwnTimeDecides) {
  auto due = deferred(kViewTestNow);
  auto standing = recipient_standing(due.envelope, due.recipient(), "x.example", {}, kViewTestNow);
  EXPECT_EQ(standing.status, kReady);
  expect_consistent(standing);
  auto never_tried = deferred({});
  EXPECT_EQ(recipient_standing(never_tried.envelope, never_tried.recipient(), "x.example", {}, kViewTestNow).status,
            kReady);
  auto later = deferred(kViewTestNow + 48s);
  standing = recipient_standing(later.envelope, later.recipient(), "x.example", {}, kViewTestNow);
  EXPECT_EQ(standing.status, kRetry);
  EXPECT_EQ(standing.next_retry, kViewTestNow + 48s);
}

TEST(RecipientStanding, HopBackoffHoldsBackWhatIsDue) {
  LiveHops live;
  live["x.example"].blocked_until = kViewTestNow + 5min;
  auto due = deferred(kViewTestNow - 1min);
  auto standing = recipient_standing(due.envelope, due.recipient(), "x.example", live, kViewTestNow);
  EXPECT_EQ(standing.status, kRetry);
  EXPECT_EQ(standing.next_retry, kViewTestNow + 5min);
  // Its own time wins when it is later than the backoff.
  auto later = deferred(kViewTestNow + 10min);
  EXPECT_EQ(recipient_standing(later.envelope, later.recipient(), "x.example", live, kViewTestNow).next_retry,
            kViewTestNow + 10min);
  // A backoff that has ended holds nothing back; another hop's backoff neither.
  live["x.example"].blocked_until = kViewTestNow - 1s;
  EXPECT_EQ(recipient_standing(due.envelope, due.recipient(), "x.example", live, kViewTestNow).status, kReady);
  live["y.example"].blocked_until = kViewTestNow + 5min;
  EXPECT_EQ(recipient_standing(due.envelope, due.recipient(), "x.example", live, kViewTestNow).status, kReady);
}

TEST(RecipientStanding, ActiveOnlyInItsRunningJob) {
  LiveHops live;
  live["x.example"].running = 1;
  live["x.example"].delivering = {"A1"};
  auto due = deferred(kViewTestNow - 1s);
  auto standing = recipient_standing(due.envelope, due.recipient(), "x.example", live, kViewTestNow);
  EXPECT_EQ(standing.status, kActive);
  expect_consistent(standing);
  // The same message's recipient that was not due when the job started is not in it.
  auto later = deferred(kViewTestNow + 30s);
  EXPECT_EQ(recipient_standing(later.envelope, later.recipient(), "x.example", live, kViewTestNow).status, kRetry);
  // Another message to the same hop is not being delivered.
  due.envelope.id = "A2";
  EXPECT_EQ(recipient_standing(due.envelope, due.recipient(), "x.example", live, kViewTestNow).status, kReady);
}

TEST(Combine, ActiveOverReadyOverEarliestRetry) {
  Standing row;
  combine(row, {kRetry, kViewTestNow + 60s});
  combine(row, {kRetry, kViewTestNow + 30s});
  EXPECT_EQ(row.status, kRetry);
  EXPECT_EQ(row.next_retry, kViewTestNow + 30s);
  combine(row, {kReady, std::nullopt});
  EXPECT_EQ(row.status, kReady);
  EXPECT_FALSE(row.next_retry);  // "Ready, retry in 30 s" is what the rule forbids
  combine(row, {kRetry, kViewTestNow + 10s});
  EXPECT_EQ(row.status, kReady);
  EXPECT_FALSE(row.next_retry);
  combine(row, {kActive, std::nullopt});
  EXPECT_EQ(row.status, kActive);
  combine(row, {kReady, std::nullopt});
  EXPECT_EQ(row.status, kActive);
  EXPECT_FALSE(row.next_retry);
}

}  // namespace
}  // namespace sluice::queue
