#include "queue/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace sluice::queue {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;
using namespace std::chrono_literals;

config::QueueSettings settings() {
  config::QueueSettings s;
  s.retry_min = 60s;
  s.retry_max = 3600s;
  s.lifetime = 48h;
  s.delay_warning = 0s;
  s.max_deliveries = 100;
  s.hop_backoff_max = 1800s;
  return s;
}

// The domain is the next hop; "localhost" is local.
std::string hop_of(const std::string& address) {
  auto at = address.rfind('@');
  std::string domain = at == std::string::npos ? "" : address.substr(at + 1);
  return domain == "localhost" ? "local" : domain;
}

Recipient recipient(std::string address, Recipient::State state = Recipient::State::Pending) {
  Recipient r;
  r.address = std::move(address);
  r.state = state;
  return r;
}

class SchedulerTest : public ::testing::Test {
 protected:
  system_clock::time_point start_ = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1};
  system_clock::time_point now_ = start_;
  Clock clock_ = [this] { return now_; };

  Scheduler make(config::QueueSettings s = settings(), std::size_t max_per_hop = 5) {
    return Scheduler(s, clock_, hop_of, max_per_hop, /*seed=*/42);
  }

  // A message received `age` before now, with the given recipients.
  Envelope message(std::string id, std::vector<Recipient> recipients, seconds age = 0s) {
    Envelope e;
    e.id = std::move(id);
    e.mail_from = "alice@example.org";
    e.recipients = std::move(recipients);
    e.received = now_ - age;
    return e;
  }
};

std::vector<std::string> ids(const std::vector<Job>& jobs) {
  std::vector<std::string> out;
  for (const auto& job : jobs) out.push_back(job.message_id + "/" + job.next_hop);
  return out;
}

// ---- retry_delay ----

TEST(RetryDelay, DoublesFromTheMinimumUpToTheMaximum) {
  auto s = settings();
  std::vector<long> got;
  for (int attempts = 1; attempts <= 9; ++attempts) {
    got.push_back(retry_delay(attempts, s, 0.5).count());  // 0.5: factor exactly 1
  }
  EXPECT_EQ(got, (std::vector<long>{60, 120, 240, 480, 960, 1920, 3600, 3600, 3600}));
}

TEST(RetryDelay, HugeAttemptCountsStayAtTheMaximum) {
  EXPECT_EQ(retry_delay(1000000, settings(), 0.5), 3600s);
  EXPECT_EQ(retry_delay(std::numeric_limits<int>::max(), settings(), 0.5), 3600s);
}

TEST(RetryDelay, ZeroOrNegativeAttemptsCountAsTheFirstRetry) {
  EXPECT_EQ(retry_delay(0, settings(), 0.5), 60s);
  EXPECT_EQ(retry_delay(-3, settings(), 0.5), 60s);
}

TEST(RetryDelay, JitterStaysWithinItsBounds) {
  auto s = settings();
  EXPECT_EQ(retry_delay(1, s, 0.0), 48s);     // 60 * 0.8
  EXPECT_EQ(retry_delay(1, s, 0.999), 72s);   // 60 * 1.1996, rounded
  EXPECT_EQ(retry_delay(7, s, 0.0), 2880s);   // 3600 * 0.8
  EXPECT_EQ(retry_delay(7, s, 0.999), 4319s); // 3600 * 1.1996
  EXPECT_EQ(retry_delay(1, s, 0.0, 0.5), 30s);
  EXPECT_EQ(retry_delay(1, s, 0.999, 0.0), 60s);  // no jitter: exact
}

TEST(RetryDelay, OutOfRangeInputsAreClamped) {
  auto s = settings();
  EXPECT_EQ(retry_delay(1, s, -1.0), 48s);
  EXPECT_EQ(retry_delay(1, s, 7.0), 72s);
  EXPECT_EQ(retry_delay(1, s, std::nan("")), 48s);
  EXPECT_EQ(retry_delay(1, s, 0.0, 5.0), 1s);   // jitter 1: factor 0, but never below a second
  EXPECT_EQ(retry_delay(1, s, 0.0, -1.0), 60s);
}

TEST(RetryDelay, NeverZeroAndMaximumWinsOverMinimum) {
  auto s = settings();
  s.retry_min = 0s;
  EXPECT_EQ(retry_delay(5, s, 0.5), 1s);
  s.retry_min = 100s;
  s.retry_max = 30s;  // a misconfiguration: the maximum is the promise
  EXPECT_EQ(retry_delay(1, s, 0.5), 30s);
}

// ---- take_due ----

TEST_F(SchedulerTest, GroupsRecipientsOfAMessageByHop) {
  auto scheduler = make();
  scheduler.upsert(message("M1", {recipient("a@one.example"), recipient("b@two.example"),
                                  recipient("c@one.example"), recipient("d@localhost")}));
  auto jobs = scheduler.take_due();
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].message_id, "M1");
  EXPECT_EQ(jobs[0].next_hop, "one.example");
  EXPECT_EQ(jobs[0].recipients, (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(jobs[1].next_hop, "two.example");
  EXPECT_EQ(jobs[1].recipients, (std::vector<std::size_t>{1}));
}

TEST_F(SchedulerTest, OnlyPendingOrDeferredRecipientsThatAreDue) {
  auto scheduler = make();
  auto later = recipient("later@one.example", Recipient::State::Deferred);
  later.next_attempt = now_ + 1s;
  auto due = recipient("due@one.example", Recipient::State::Deferred);
  due.next_attempt = now_;  // exactly now is due
  scheduler.upsert(message("M1", {recipient("done@one.example", Recipient::State::Delivered),
                                  recipient("bad@one.example", Recipient::State::Failed), later, due,
                                  recipient("new@one.example")}));
  auto jobs = scheduler.take_due();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].recipients, (std::vector<std::size_t>{3, 4}));
}

TEST_F(SchedulerTest, LocalRecipientsAreNeverReturned) {
  auto scheduler = make();
  scheduler.upsert(message("M1", {recipient("bob@localhost")}));
  EXPECT_TRUE(scheduler.take_due().empty());
  EXPECT_EQ(scheduler.next_wakeup(), std::nullopt);
}

TEST_F(SchedulerTest, ARunningMessageAndHopIsNotReturnedAgain) {
  auto scheduler = make();
  scheduler.upsert(message("M1", {recipient("a@one.example")}));
  auto jobs = scheduler.take_due();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_TRUE(scheduler.take_due().empty());
  // The engine records the outcome (here: still pending, no hop failure) and finishes the job.
  scheduler.finished(jobs[0], false);
  EXPECT_EQ(scheduler.take_due().size(), 1u);
}

TEST_F(SchedulerTest, OldestMessagesFirst) {
  auto s = settings();
  s.max_deliveries = 2;
  auto scheduler = make(s);
  scheduler.upsert(message("A", {recipient("x@one.example")}, 10s));
  scheduler.upsert(message("B", {recipient("x@one.example")}, 30s));
  scheduler.upsert(message("C", {recipient("x@one.example")}, 20s));
  EXPECT_EQ(ids(scheduler.take_due()), (std::vector<std::string>{"B/one.example", "C/one.example"}));
}

TEST_F(SchedulerTest, OverallLimitIsFairAcrossHops) {
  auto s = settings();
  s.max_deliveries = 3;
  auto scheduler = make(s);
  // Four old messages to one hop, then one newer message to another: the newer one still gets a
  // slot in the first round instead of waiting behind all of the busy hop.
  for (int i = 0; i < 4; ++i) {
    scheduler.upsert(message("B" + std::to_string(i), {recipient("x@busy.example")}, seconds{100 - i}));
  }
  scheduler.upsert(message("Q", {recipient("x@quiet.example")}, 1s));
  EXPECT_EQ(ids(scheduler.take_due()),
            (std::vector<std::string>{"B0/busy.example", "Q/quiet.example", "B1/busy.example"}));
  EXPECT_TRUE(scheduler.take_due().empty());  // limit reached
}

TEST_F(SchedulerTest, PerHopLimit) {
  auto scheduler = make(settings(), /*max_per_hop=*/2);
  for (int i = 0; i < 4; ++i) {
    scheduler.upsert(message("M" + std::to_string(i), {recipient("x@one.example")}, seconds{10 - i}));
  }
  scheduler.upsert(message("N", {recipient("x@two.example")}));
  auto first = scheduler.take_due();
  EXPECT_EQ(ids(first), (std::vector<std::string>{"M0/one.example", "N/two.example", "M1/one.example"}));
  EXPECT_EQ(scheduler.hops().at("one.example").running, 2u);
  EXPECT_TRUE(scheduler.take_due().empty());
  scheduler.finished(first[0], false);
  scheduler.remove("M0");
  EXPECT_EQ(ids(scheduler.take_due()), (std::vector<std::string>{"M2/one.example"}));
}

TEST_F(SchedulerTest, ZeroLimitsCountAsOne) {
  auto s = settings();
  s.max_deliveries = 0;
  auto scheduler = make(s, 0);
  scheduler.upsert(message("M1", {recipient("x@one.example")}));
  scheduler.upsert(message("M2", {recipient("x@two.example")}));
  EXPECT_EQ(scheduler.take_due().size(), 1u);
}

// ---- hop backoff ----

TEST_F(SchedulerTest, AFailingHopBlocksOtherMessagesToItButNotOtherHops) {
  auto s = settings();
  auto scheduler = make(s);
  scheduler.upsert(message("M1", {recipient("x@bad.example")}, 10s));
  auto jobs = scheduler.take_due();
  ASSERT_EQ(jobs.size(), 1u);
  scheduler.finished(jobs[0], /*hop_failed=*/true);
  const auto& hop = scheduler.hops().at("bad.example");
  EXPECT_EQ(hop.consecutive_failures, 1);
  EXPECT_GE(hop.blocked_until, now_ + 48s);  // retry_delay(1) with jitter
  EXPECT_LE(hop.blocked_until, now_ + 72s);
  const auto blocked_until = hop.blocked_until;

  scheduler.upsert(message("M2", {recipient("y@bad.example"), recipient("y@good.example")}));
  EXPECT_EQ(ids(scheduler.take_due()), (std::vector<std::string>{"M2/good.example"}));

  now_ = blocked_until - 1s;
  EXPECT_TRUE(scheduler.take_due().empty());
  now_ = blocked_until;
  EXPECT_EQ(ids(scheduler.take_due()), (std::vector<std::string>{"M1/bad.example", "M2/bad.example"}));
}

TEST_F(SchedulerTest, HopBackoffGrowsUpToItsMaximumAndSuccessResetsIt) {
  auto s = settings();
  s.retry_min = 100s;
  s.hop_backoff_max = 300s;
  auto scheduler = make(s);
  scheduler.upsert(message("M1", {recipient("x@bad.example")}));
  std::vector<int> failures;
  for (int round = 0; round < 4; ++round) {
    auto jobs = scheduler.take_due();
    ASSERT_EQ(jobs.size(), 1u) << round;
    scheduler.finished(jobs[0], true);
    const auto& hop = scheduler.hops().at("bad.example");
    failures.push_back(hop.consecutive_failures);
    // 100, 200, 300, 300 seconds, each within +-20 %.
    const double expected = std::min(100.0 * (1 << round), 300.0);
    const double got = std::chrono::duration<double>(hop.blocked_until - now_).count();
    EXPECT_GE(got, expected * 0.8 - 0.5) << round;
    EXPECT_LE(got, expected * 1.2 + 0.5) << round;
    now_ = hop.blocked_until;
  }
  EXPECT_EQ(failures, (std::vector<int>{1, 2, 3, 4}));
  auto jobs = scheduler.take_due();
  ASSERT_EQ(jobs.size(), 1u);
  scheduler.finished(jobs[0], false);
  EXPECT_EQ(scheduler.hops().count("bad.example"), 0u);  // healthy and idle: forgotten
}

TEST_F(SchedulerTest, FinishingAnUnknownJobOrTwiceChangesNothing) {
  auto scheduler = make();
  scheduler.upsert(message("M1", {recipient("x@one.example")}));
  auto jobs = scheduler.take_due();
  ASSERT_EQ(jobs.size(), 1u);
  scheduler.finished(Job{"NOPE", "one.example", {0}}, true);
  EXPECT_EQ(scheduler.hops().at("one.example").consecutive_failures, 0);
  EXPECT_EQ(scheduler.hops().at("one.example").running, 1u);
  scheduler.finished(jobs[0], true);
  scheduler.finished(jobs[0], true);
  EXPECT_EQ(scheduler.hops().at("one.example").consecutive_failures, 1);
  EXPECT_EQ(scheduler.hops().at("one.example").running, 0u);
}

TEST_F(SchedulerTest, FinishingAJobOfARemovedMessageFreesItsSlot) {
  auto s = settings();
  s.max_deliveries = 1;
  auto scheduler = make(s);
  scheduler.upsert(message("M1", {recipient("x@one.example")}, 5s));
  scheduler.upsert(message("M2", {recipient("x@one.example")}));
  auto jobs = scheduler.take_due();
  ASSERT_EQ(ids(jobs), (std::vector<std::string>{"M1/one.example"}));
  scheduler.remove("M1");  // delivered, removed from the spool
  scheduler.finished(jobs[0], false);
  EXPECT_EQ(ids(scheduler.take_due()), (std::vector<std::string>{"M2/one.example"}));
}

// ---- retry_now ----

TEST_F(SchedulerTest, RetryNowMakesDeferredRecipientsDueAndClearsBackoff) {
  auto scheduler = make();
  auto deferred = [this](std::string address) {
    auto r = recipient(std::move(address), Recipient::State::Deferred);
    r.attempts = 3;
    r.next_attempt = now_ + 1h;
    return r;
  };
  scheduler.upsert(message("M1", {deferred("x@one.example"), deferred("x@two.example")}));
  EXPECT_TRUE(scheduler.take_due().empty());

  scheduler.retry_now("one.example");
  EXPECT_EQ(ids(scheduler.take_due()), (std::vector<std::string>{"M1/one.example"}));

  scheduler.retry_now();
  EXPECT_EQ(ids(scheduler.take_due()), (std::vector<std::string>{"M1/two.example"}));
}

TEST_F(SchedulerTest, RetryNowForAHopClearsOnlyThatHopsBackoff) {
  auto scheduler = make();
  scheduler.upsert(message("M1", {recipient("x@one.example"), recipient("x@two.example")}));
  for (const auto& job : scheduler.take_due()) scheduler.finished(job, true);
  EXPECT_TRUE(scheduler.take_due().empty());

  scheduler.retry_now("two.example");
  EXPECT_EQ(scheduler.hops().count("two.example"), 0u);
  EXPECT_EQ(scheduler.hops().at("one.example").consecutive_failures, 1);
  EXPECT_EQ(ids(scheduler.take_due()), (std::vector<std::string>{"M1/two.example"}));

  scheduler.retry_now();
  EXPECT_EQ(ids(scheduler.take_due()), (std::vector<std::string>{"M1/one.example"}));
}

// ---- reschedule ----

TEST_F(SchedulerTest, RescheduleBacksOffByAttempts) {
  auto scheduler = make();
  Envelope e = message("M1", {recipient("x@one.example")}, 10min);
  e.recipients[0].attempts = 3;  // 240 s +- 20 %
  auto next = scheduler.reschedule(e, e.recipients[0]);
  ASSERT_TRUE(next.has_value());
  EXPECT_GE(*next, now_ + 192s);
  EXPECT_LE(*next, now_ + 288s);
}

TEST_F(SchedulerTest, RescheduleAfterTheLifetimeIsExpiry) {
  auto s = settings();
  s.lifetime = 30s;
  auto scheduler = make(s);
  Envelope e = message("M1", {recipient("x@one.example", Recipient::State::Deferred)}, 29s);
  e.recipients[0].attempts = 1;
  // One second of life left: the retry is at the expiry time, not 48-72 s later.
  EXPECT_EQ(scheduler.reschedule(e, e.recipients[0]), now_ + 1s);
  now_ += 1s;
  EXPECT_EQ(scheduler.reschedule(e, e.recipients[0]), std::nullopt);
  now_ += 1h;
  EXPECT_EQ(scheduler.reschedule(e, e.recipients[0]), std::nullopt);
}

TEST_F(SchedulerTest, RescheduleOfAnAncientEnvelopeDoesNotOverflow) {
  auto scheduler = make();
  Envelope e = message("M1", {recipient("x@one.example")});
  e.received = system_clock::time_point::min();
  EXPECT_EQ(scheduler.reschedule(e, e.recipients[0]), std::nullopt);
  auto s = settings();
  s.lifetime = seconds::max();
  auto forever = make(s);
  e.received = now_;
  auto next = forever.reschedule(e, e.recipients[0]);
  ASSERT_TRUE(next.has_value());
  EXPECT_GT(*next, now_);
}

// ---- next_wakeup ----

TEST_F(SchedulerTest, NextWakeupIsTheEarliestDueTime) {
  auto scheduler = make();
  EXPECT_EQ(scheduler.next_wakeup(), std::nullopt);
  auto a = recipient("x@one.example", Recipient::State::Deferred);
  a.next_attempt = now_ + 300s;
  auto b = recipient("x@two.example", Recipient::State::Deferred);
  b.next_attempt = now_ + 120s;
  auto done = recipient("y@two.example", Recipient::State::Failed);
  scheduler.upsert(message("M1", {a, done}));
  scheduler.upsert(message("M2", {b}));
  EXPECT_EQ(scheduler.next_wakeup(), now_ + 120s);
  scheduler.remove("M2");
  EXPECT_EQ(scheduler.next_wakeup(), now_ + 300s);
}

TEST_F(SchedulerTest, NextWakeupWaitsForHopBackoff) {
  auto scheduler = make();
  scheduler.upsert(message("M1", {recipient("x@bad.example")}));
  auto jobs = scheduler.take_due();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(scheduler.next_wakeup(), std::nullopt);  // only a running job: wait for finished()
  scheduler.finished(jobs[0], true);
  const auto blocked_until = scheduler.hops().at("bad.example").blocked_until;
  // Pending since the start (due at once), but the hop is blocked: max of both.
  EXPECT_EQ(scheduler.next_wakeup(), blocked_until);
  // A recipient due later than the backoff ends wakes at its own time.
  auto later = recipient("z@bad.example", Recipient::State::Deferred);
  later.next_attempt = blocked_until + 10min;
  scheduler.upsert(message("M1", {later}));
  EXPECT_EQ(scheduler.next_wakeup(), blocked_until + 10min);
}

TEST_F(SchedulerTest, NextWakeupIgnoresWorkThatWaitsForAFullHop) {
  auto scheduler = make(settings(), 1);
  scheduler.upsert(message("M1", {recipient("x@one.example")}, 5s));
  scheduler.upsert(message("M2", {recipient("x@one.example")}));
  ASSERT_EQ(scheduler.take_due().size(), 1u);
  EXPECT_EQ(scheduler.next_wakeup(), std::nullopt);
  scheduler.upsert(message("M3", {recipient("x@two.example")}));
  EXPECT_EQ(scheduler.next_wakeup(), now_);
}

// ---- delay warning ----

TEST_F(SchedulerTest, DelayWarningAfterItsTimeOnceWhileMailWaits) {
  auto s = settings();
  s.delay_warning = 4h;
  auto scheduler = make(s);
  Envelope e = message("M1", {recipient("x@one.example", Recipient::State::Deferred),
                              recipient("y@one.example", Recipient::State::Delivered)},
                       4h - 1s);
  EXPECT_FALSE(scheduler.needs_delay_warning(e));
  now_ += 1s;
  EXPECT_TRUE(scheduler.needs_delay_warning(e));
  e.delay_warning_sent = true;
  EXPECT_FALSE(scheduler.needs_delay_warning(e));
  e.delay_warning_sent = false;
  e.recipients[0].state = Recipient::State::Failed;  // nothing waits any more
  EXPECT_FALSE(scheduler.needs_delay_warning(e));
  e.recipients[0].state = Recipient::State::Pending;
  EXPECT_TRUE(scheduler.needs_delay_warning(e));
}

TEST_F(SchedulerTest, NoDelayWarningWhenDisabled) {
  auto scheduler = make();  // delay_warning 0
  Envelope e = message("M1", {recipient("x@one.example", Recipient::State::Deferred)}, 47h);
  EXPECT_FALSE(scheduler.needs_delay_warning(e));
}

}  // namespace
}  // namespace sluice::queue
