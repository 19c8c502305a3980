#include "queue/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

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

// The engine routes each recipient once and files it under Recipient::next_hop.
Recipient recipient(std::string address, Recipient::State state = Recipient::State::Pending) {
  Recipient r;
  r.next_hop = hop_of(address);
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
    return Scheduler(
        s, clock_, [max_per_hop](const std::string&) { return max_per_hop; }, /*seed=*/42);
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

// "M000042": ids that sort like their numbers.
std::string fmt_id(int i) {
  std::string digits = std::to_string(i);
  return "M" + std::string(6 - std::min<std::size_t>(digits.size(), 6), '0') + digits;
}

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
  EXPECT_EQ(retry_delay(1, s, 0.0), 48s);      // 60 * 0.8
  EXPECT_EQ(retry_delay(1, s, 0.999), 72s);    // 60 * 1.1996, rounded
  EXPECT_EQ(retry_delay(7, s, 0.0), 2880s);    // 3600 * 0.8
  EXPECT_EQ(retry_delay(7, s, 0.999), 4319s);  // 3600 * 1.1996
  EXPECT_EQ(retry_delay(1, s, 0.0, 0.5), 30s);
  EXPECT_EQ(retry_delay(1, s, 0.999, 0.0), 60s);  // no jitter: exact
}

TEST(RetryDelay, OutOfRangeInputsAreClamped) {
  auto s = settings();
  EXPECT_EQ(retry_delay(1, s, -1.0), 48s);
  EXPECT_EQ(retry_delay(1, s, 7.0), 72s);
  EXPECT_EQ(retry_delay(1, s, std::nan("")), 48s);
  EXPECT_EQ(retry_delay(1, s, 0.0, 5.0), 1s);  // jitter 1: factor 0, but never below a second
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
  scheduler.upsert(message("M1", {recipient("a@one.example"), recipient("b@two.example"), recipient("c@one.example"),
                                  recipient("d@localhost")}));
  auto jobs = scheduler.take_due();
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0].message_id, "M1");
  EXPECT_EQ(jobs[0].next_hop, "local");  // local delivery first: it takes no outbound slot
  EXPECT_EQ(jobs[0].recipients, (std::vector<std::size_t>{3}));
  EXPECT_EQ(jobs[1].next_hop, "one.example");
  EXPECT_EQ(jobs[1].recipients, (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(jobs[2].next_hop, "two.example");
  EXPECT_EQ(jobs[2].recipients, (std::vector<std::size_t>{1}));
}

TEST_F(SchedulerTest, BacklogCountsMessagesPerHopWithTheOldestAge) {
  auto scheduler = make();
  scheduler.upsert(message("M1", {recipient("a@one.example"), recipient("b@two.example")}, 300s));
  scheduler.upsert(message("M2", {recipient("c@one.example"), recipient("d@one.example")}, 60s));
  scheduler.upsert(message("M3", {recipient("e@two.example")}, 900s));
  auto backlog = scheduler.backlog();
  ASSERT_EQ(backlog.size(), 2u);
  EXPECT_EQ(backlog[0].hop, "one.example");
  EXPECT_EQ(backlog[0].messages, 2u);  // M2's two recipients are one message
  EXPECT_EQ(backlog[0].oldest, now_ - 300s);
  EXPECT_EQ(backlog[1].hop, "two.example");
  EXPECT_EQ(backlog[1].messages, 2u);
  EXPECT_EQ(backlog[1].oldest, now_ - 900s);

  // Running jobs still count; a delivered recipient leaves its hop, a message's new received time
  // moves it.
  scheduler.take_due();
  scheduler.upsert(
      message("M1", {recipient("a@one.example", Recipient::State::Delivered), recipient("b@two.example")}, 30s));
  scheduler.remove("M3");
  backlog = scheduler.backlog();
  ASSERT_EQ(backlog.size(), 2u);
  EXPECT_EQ(backlog[0].messages, 1u);
  EXPECT_EQ(backlog[0].oldest, now_ - 60s);
  EXPECT_EQ(backlog[1].messages, 1u);
  EXPECT_EQ(backlog[1].oldest, now_ - 30s);
  scheduler.remove("M1");
  scheduler.remove("M2");
  EXPECT_TRUE(scheduler.backlog().empty());
}

TEST_F(SchedulerTest, OnlyPendingOrDeferredRecipientsThatAreDue) {
  auto scheduler = make();
  auto later = recipient("later@one.example", Recipient::State::Deferred);
  later.next_attempt = now_ + 1s;
  auto due = recipient("due@one.example", Recipient::State::Deferred);
  due.next_attempt = now_;  // exactly now is due
  scheduler.upsert(message(
      "M1", {recipient("done@one.example", Recipient::State::Delivered),
             recipient("bad@one.example", Recipient::State::Failed), later, due, recipient("new@one.example")}));
  auto jobs = scheduler.take_due();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].recipients, (std::vector<std::size_t>{3, 4}));
}

TEST_F(SchedulerTest, LocalRecipientsAreAHopOfTheirOwnOutsideTheOutboundLimit) {
  auto s = settings();
  s.max_deliveries = 1;
  auto scheduler = make(s, /*max_per_hop=*/2);
  scheduler.upsert(message("R1", {recipient("x@one.example")}, 9s));
  scheduler.upsert(message("R2", {recipient("x@two.example")}, 8s));
  for (int i = 0; i < 3; ++i)
    scheduler.upsert(message("L" + std::to_string(i), {recipient("bob@localhost")}, seconds{5 - i}));
  // The one outbound slot goes to the oldest remote message; local mail has its own limit (2 here).
  EXPECT_EQ(ids(scheduler.take_due()), (std::vector<std::string>{"L0/local", "L1/local", "R1/one.example"}));
  EXPECT_TRUE(scheduler.take_due().empty());
  EXPECT_EQ(scheduler.next_wakeup(), now_ - 9s + 48h);  // everything waits for a running job: only R1's lifetime
  scheduler.finished(Job{"L0", "local", {0}}, false);
  scheduler.remove("L0");
  EXPECT_EQ(scheduler.next_wakeup(), now_);
  EXPECT_EQ(ids(scheduler.take_due()), (std::vector<std::string>{"L2/local"}));
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
  EXPECT_EQ(scheduler.hop("one.example")->running, 2u);
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
  const auto& hop = *scheduler.hop("bad.example");
  EXPECT_EQ(hop.consecutive_failures, 1);
  EXPECT_GE(hop.blocked_until, now_ + 48s);  // retry_delay(1) with jitter
  EXPECT_LE(hop.blocked_until, now_ + 72s);
  const auto blocked_until = hop.blocked_until;

  scheduler.upsert(message("M2", {recipient("y@bad.example"), recipient("y@good.example")}));
  EXPECT_EQ(ids(scheduler.take_due()), (std::vector<std::string>{"M2/good.example"}));

  now_ = blocked_until - 1s;
  EXPECT_TRUE(scheduler.take_due().empty());
  // When the backoff ends, one delivery probes the hop (the oldest message); the rest waits for it.
  now_ = blocked_until;
  auto probe = scheduler.take_due();
  EXPECT_EQ(ids(probe), (std::vector<std::string>{"M1/bad.example"}));
  EXPECT_TRUE(scheduler.take_due().empty());
  scheduler.finished(probe[0], false);
  scheduler.remove("M1");  // delivered
  EXPECT_EQ(ids(scheduler.take_due()), (std::vector<std::string>{"M2/bad.example"}));
}

TEST_F(SchedulerTest, AHopThatComesBackFlowsAtItsFullConcurrency) {
  auto scheduler = make(settings(), /*max_per_hop=*/20);
  for (int i = 0; i < 100; ++i) scheduler.upsert(message(fmt_id(i), {recipient("x@down.example")}, seconds{1000 - i}));
  auto first = scheduler.take_due();
  ASSERT_EQ(first.size(), 20u);
  // Every attempt fails at the connection: the hop is down, and its mail waits on it.
  for (const auto& job : first)
    scheduler.finished(job, true, smtp::make_reply(421, "4.4.2", "Connection dropped due to SocketError"));
  const HopState* hop = scheduler.hop("down.example");
  ASSERT_NE(hop, nullptr);
  EXPECT_EQ(hop->consecutive_failures, 20);
  EXPECT_EQ(hop->last_error.one_line(), "421 4.4.2 Connection dropped due to SocketError");
  EXPECT_EQ(hop->ready, 100u);
  EXPECT_TRUE(scheduler.take_due().empty());
  // Its backoff ends: one probe; it fails again, and the hop backs off further.
  now_ = hop->blocked_until;
  auto probe = scheduler.take_due();
  ASSERT_EQ(ids(probe), (std::vector<std::string>{fmt_id(0) + "/down.example"}));
  scheduler.finished(probe[0], true);
  EXPECT_GT(scheduler.hop("down.example")->blocked_until, now_);
  EXPECT_TRUE(scheduler.take_due().empty());
  // The next probe succeeds: all of the hop's mail is startable at once, 20 at a time, oldest first.
  now_ = scheduler.hop("down.example")->blocked_until;
  probe = scheduler.take_due();
  ASSERT_EQ(probe.size(), 1u);
  scheduler.finished(probe[0], false);
  scheduler.remove(probe[0].message_id);
  auto flow = scheduler.take_due();
  ASSERT_EQ(flow.size(), 20u);
  EXPECT_EQ(flow.front().message_id, fmt_id(1));
  EXPECT_EQ(flow.back().message_id, fmt_id(20));
  EXPECT_TRUE(scheduler.hop("down.example")->last_error.empty());
}

TEST_F(SchedulerTest, ClearingTheBackoffReleasesTheWaitingMailAtOnce) {
  auto scheduler = make(settings(), /*max_per_hop=*/3);
  for (int i = 0; i < 10; ++i) scheduler.upsert(message(fmt_id(i), {recipient("x@down.example")}, seconds{100 - i}));
  for (const auto& job : scheduler.take_due()) scheduler.finished(job, true);
  EXPECT_TRUE(scheduler.take_due().empty());
  scheduler.clear_backoff("other.example");  // another hop: no effect
  EXPECT_TRUE(scheduler.take_due().empty());
  scheduler.clear_backoff("down.example");
  EXPECT_EQ(scheduler.take_due().size(), 3u);
}

TEST_F(SchedulerTest, EachHopHasItsOwnConcurrency) {
  // As each send connector's max_connections_per_host gives it.
  auto limit = [](const std::string& hop) -> std::size_t { return hop == "wide.example" ? 4 : 2; };
  Scheduler scheduler(settings(), clock_, limit, 42);
  for (int i = 0; i < 10; ++i) {
    scheduler.upsert(message("W" + std::to_string(i), {recipient("x@wide.example")}, seconds{100 - i}));
    scheduler.upsert(message("N" + std::to_string(i), {recipient("x@narrow.example")}, seconds{100 - i}));
  }
  auto jobs = scheduler.take_due();
  EXPECT_EQ(std::count_if(jobs.begin(), jobs.end(), [](const Job& j) { return j.next_hop == "wide.example"; }), 4);
  EXPECT_EQ(std::count_if(jobs.begin(), jobs.end(), [](const Job& j) { return j.next_hop == "narrow.example"; }), 2);
  EXPECT_EQ(scheduler.hop("wide.example")->limit, 4u);
  EXPECT_EQ(scheduler.hop("narrow.example")->limit, 2u);
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
    const auto& hop = *scheduler.hop("bad.example");
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
  EXPECT_EQ(scheduler.hop("bad.example")->consecutive_failures, 0);
  EXPECT_EQ(scheduler.hop("bad.example")->blocked_until, system_clock::time_point{});
  scheduler.remove("M1");                            // delivered
  EXPECT_EQ(scheduler.hop("bad.example"), nullptr);  // healthy, idle and without mail: forgotten
}

TEST_F(SchedulerTest, FinishingAnUnknownJobOrTwiceChangesNothing) {
  auto scheduler = make();
  scheduler.upsert(message("M1", {recipient("x@one.example")}));
  auto jobs = scheduler.take_due();
  ASSERT_EQ(jobs.size(), 1u);
  scheduler.finished(Job{"NOPE", "one.example", {0}}, true);
  EXPECT_EQ(scheduler.hop("one.example")->consecutive_failures, 0);
  EXPECT_EQ(scheduler.hop("one.example")->running, 1u);
  scheduler.finished(jobs[0], true);
  scheduler.finished(jobs[0], true);
  EXPECT_EQ(scheduler.hop("one.example")->consecutive_failures, 1);
  EXPECT_EQ(scheduler.hop("one.example")->running, 0u);
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

TEST_F(SchedulerTest, RetryMakesDeferredRecipientsDueAndClearsBackoff) {
  auto scheduler = make();
  auto deferred = [this](std::string address) {
    auto r = recipient(std::move(address), Recipient::State::Deferred);
    r.attempts = 3;
    r.next_attempt = now_ + 1h;
    return r;
  };
  auto m = message("M1", {deferred("x@one.example"), deferred("x@two.example")});
  scheduler.upsert(m);
  EXPECT_TRUE(scheduler.take_due().empty());
  EXPECT_EQ(scheduler.next_wakeup(), now_ + 1h);

  // "queue retry" as the engine does it: the recipient due now, its hop's backoff cleared.
  m.recipients[0].next_attempt = now_;
  scheduler.upsert(m);
  scheduler.clear_backoff("one.example");
  EXPECT_EQ(ids(scheduler.take_due()), (std::vector<std::string>{"M1/one.example"}));

  m.recipients[1].next_attempt = now_;
  scheduler.upsert(m);
  scheduler.clear_backoff();
  EXPECT_EQ(ids(scheduler.take_due()), (std::vector<std::string>{"M1/two.example"}));
}

TEST_F(SchedulerTest, ClearingOneHopsBackoffLeavesTheOthers) {
  auto scheduler = make();
  scheduler.upsert(message("M1", {recipient("x@one.example"), recipient("x@two.example")}));
  for (const auto& job : scheduler.take_due()) scheduler.finished(job, true);
  EXPECT_TRUE(scheduler.take_due().empty());

  scheduler.clear_backoff("two.example");
  EXPECT_EQ(scheduler.hop("two.example")->consecutive_failures, 0);
  EXPECT_EQ(scheduler.hop("one.example")->consecutive_failures, 1);
  EXPECT_EQ(ids(scheduler.take_due()), (std::vector<std::string>{"M1/two.example"}));

  scheduler.clear_backoff();
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
  EXPECT_EQ(scheduler.next_wakeup(), now_ + 48h);  // only a running job: wait for finished() (or the lifetime)
  scheduler.finished(jobs[0], true);
  const auto blocked_until = scheduler.hop("bad.example")->blocked_until;
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
  EXPECT_EQ(scheduler.next_wakeup(), now_ - 5s + 48h);  // M2 waits for the full hop: only M1's lifetime
  scheduler.upsert(message("M3", {recipient("x@two.example")}));
  EXPECT_EQ(scheduler.next_wakeup(), now_);
}

// ---- delay warning and lifetime ----

TEST_F(SchedulerTest, DelayWarningOnceAtItsTimeWhileMailWaits) {
  auto s = settings();
  s.delay_warning = 4h;
  auto scheduler = make(s);
  scheduler.upsert(message(
      "M1",
      {recipient("x@one.example", Recipient::State::Deferred), recipient("y@one.example", Recipient::State::Delivered)},
      4h - 1s));
  Envelope warned = message("M2", {recipient("x@one.example", Recipient::State::Deferred)}, 5h);
  warned.delay_warning_sent = true;
  scheduler.upsert(warned);
  scheduler.upsert(message("M3", {recipient("x@one.example", Recipient::State::Failed)}, 5h));  // nothing waits
  EXPECT_TRUE(scheduler.take_delay_warnings().empty());
  EXPECT_LE(scheduler.next_wakeup(), now_ + 1s);
  now_ += 1s;
  EXPECT_EQ(scheduler.take_delay_warnings(), (std::vector<std::string>{"M1"}));
  EXPECT_TRUE(scheduler.take_delay_warnings().empty());  // once
  // The engine records the warning; later outcomes do not arm it again.
  Envelope m1 = message("M1", {recipient("x@one.example", Recipient::State::Deferred)}, 4h);
  scheduler.upsert(m1);
  now_ += 1h;
  EXPECT_TRUE(scheduler.take_delay_warnings().empty());
}

TEST_F(SchedulerTest, NoDelayWarningWhenDisabled) {
  auto scheduler = make();  // delay_warning 0
  scheduler.upsert(message("M1", {recipient("x@one.example", Recipient::State::Deferred)}, 47h));
  now_ += 1h;
  EXPECT_TRUE(scheduler.take_delay_warnings().empty());
}

TEST_F(SchedulerTest, LifetimeEndsForMailWaitingOnADownHopWithoutAnAttempt) {
  auto s = settings();
  s.lifetime = 2h;
  auto scheduler = make(s, 1);
  scheduler.upsert(message("OLD", {recipient("x@down.example")}, 90min));
  auto jobs = scheduler.take_due();
  ASSERT_EQ(jobs.size(), 1u);
  scheduler.finished(jobs[0], true, smtp::make_reply(421, "4.4.2", "Connection dropped due to SocketError"));
  // Two more messages wait on the hop, never attempted; one of them has a local recipient too.
  scheduler.upsert(
      message("A", {recipient("y@down.example"), recipient("me@localhost", Recipient::State::Delivered)}, 60min));
  scheduler.upsert(message("B", {recipient("z@down.example")}, 10min));
  EXPECT_TRUE(scheduler.take_expired().empty());
  // The hop stays down past OLD's and A's lifetimes (its backoff is long): both expire on time.
  now_ += 60min;
  EXPECT_EQ(scheduler.next_wakeup(), now_);
  auto expired = scheduler.take_expired();
  ASSERT_EQ(expired.size(), 2u);
  EXPECT_EQ(expired[0].message_id, "OLD");
  EXPECT_EQ(expired[1].message_id, "A");
  EXPECT_EQ(expired[1].recipients, (std::vector<std::size_t>{0}));
  EXPECT_TRUE(scheduler.take_expired().empty());  // once
  now_ += 50min;
  ASSERT_EQ(scheduler.take_expired().size(), 1u);  // B
}

TEST_F(SchedulerTest, ARunningJobAtExpiryDecidesItsOwnRecipientsAndTheRestExpiresAfterIt) {
  auto s = settings();
  s.lifetime = 1h;
  auto scheduler = make(s);
  scheduler.upsert(message("M1", {recipient("x@one.example"), recipient("y@two.example")}, 59min));
  auto jobs = scheduler.take_due();
  ASSERT_EQ(jobs.size(), 2u);
  scheduler.finished(jobs[1], true);  // two.example: its recipient waits again
  now_ += 1min;
  auto expired = scheduler.take_expired();
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].recipients, (std::vector<std::size_t>{1}));  // not the running one
  // The running job ends with its recipient still waiting: it is listed then.
  scheduler.finished(jobs[0], false);
  expired = scheduler.take_expired();
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].recipients, (std::vector<std::size_t>{0, 1}));
}

// ---- scale: work per event follows what is due, not the queue ----

TEST_F(SchedulerTest, AHundredThousandEntriesAtAFakeClock) {
  auto s = settings();
  s.max_deliveries = 50;
  auto scheduler = make(s, /*max_per_hop=*/10);
  constexpr int kMessages = 100000;
  constexpr int kHops = 100;
  auto due_of = [&](int i) { return start_ + seconds{1 + (static_cast<long>(i) * 7919) % 3600}; };
  for (int i = 0; i < kMessages; ++i) {
    auto r = recipient("x@h" + std::to_string(i % kHops) + ".example", Recipient::State::Deferred);
    r.next_attempt = due_of(i);
    Envelope e = message(fmt_id(i), {r});
    e.received = start_ - seconds{kMessages - i};  // message 0 is the oldest
    scheduler.upsert(e);
  }
  EXPECT_EQ(scheduler.size(), static_cast<std::size_t>(kMessages));
  EXPECT_TRUE(scheduler.take_due().empty());
  // The earliest due time over the whole queue: start + 1 s (i = 0 and every 3600th).
  EXPECT_EQ(scheduler.next_wakeup(), start_ + 1s);

  // At start + 10 s, exactly the messages with due <= 10 s may start, within the limits: 50 jobs
  // overall, at most 10 per hop, each the oldest due message of its hop.
  now_ = start_ + 10s;
  std::vector<int> due_now;
  for (int i = 0; i < kMessages; ++i)
    if (due_of(i) <= now_) due_now.push_back(i);
  auto jobs = scheduler.take_due();
  ASSERT_EQ(jobs.size(), std::min<std::size_t>(50, due_now.size()));
  std::map<std::string, std::vector<int>> per_hop;
  for (const auto& job : jobs) {
    int i = std::stoi(job.message_id.substr(1));
    EXPECT_LE(due_of(i), now_) << job.message_id;
    per_hop[job.next_hop].push_back(i);
  }
  for (const auto& [hop, started] : per_hop) {
    EXPECT_LE(started.size(), 10u) << hop;
    EXPECT_TRUE(std::is_sorted(started.begin(), started.end())) << hop;  // oldest first
    // No older due message of the same hop was passed over.
    int hop_index = std::stoi(hop.substr(1));
    std::vector<int> expected;
    for (int i : due_now)
      if (i % kHops == hop_index && expected.size() < started.size()) expected.push_back(i);
    EXPECT_EQ(started, expected) << hop;
  }
  EXPECT_TRUE(scheduler.take_due().empty());  // overall limit reached

  // Finish them all as delivered; the rest that is due now starts, and nothing not yet due does.
  std::size_t started_total = jobs.size();
  while (!jobs.empty()) {
    for (const auto& job : jobs) {
      scheduler.finished(job, false);
      scheduler.remove(job.message_id);
    }
    jobs = scheduler.take_due();
    for (const auto& job : jobs) EXPECT_LE(due_of(std::stoi(job.message_id.substr(1))), now_) << job.message_id;
    started_total += jobs.size();
  }
  EXPECT_EQ(started_total, due_now.size());
  EXPECT_EQ(scheduler.size(), kMessages - due_now.size());
  EXPECT_EQ(scheduler.next_wakeup(), start_ + 11s);

  // A whole hop goes down: its mail stops, the other hops' goes on.
  now_ = start_ + 2h;
  jobs = scheduler.take_due();
  ASSERT_EQ(jobs.size(), 50u);
  for (const auto& job : jobs) scheduler.finished(job, job.next_hop == "h7.example");
  for (int round = 0; round < 20; ++round) {
    jobs = scheduler.take_due();
    for (const auto& job : jobs) {
      EXPECT_NE(job.next_hop, "h7.example");
      scheduler.finished(job, false);
      scheduler.remove(job.message_id);
    }
  }
  EXPECT_GT(scheduler.hop("h7.example")->ready, 900u);
}

// A bounce the spool could not take yet keeps its message: nothing of it is delivered again, and
// the engine is asked to queue the notice again after retry_min, until an upsert shows none left.
TEST_F(SchedulerTest, AMessageOwingANoticeStaysAndItsNoticeIsRetried) {
  auto scheduler = make();
  Envelope owing = message("M1", {recipient("x@one.example", Recipient::State::Failed)});
  owing.pending_notices.push_back({"N1", false, {{0, "5.1.1", "550 5.1.1 No such user", "mx.one.example", {}}}});
  scheduler.upsert(owing);
  EXPECT_EQ(scheduler.size(), 1u);
  EXPECT_TRUE(scheduler.take_due().empty());
  EXPECT_EQ(scheduler.next_wakeup(), now_ + 60s);
  now_ += 59s;
  EXPECT_TRUE(scheduler.take_notice_retries().empty());
  EXPECT_TRUE(scheduler.take_expired().empty());
  now_ += 1s;
  EXPECT_EQ(scheduler.take_notice_retries(), (std::vector<std::string>{"M1"}));
  EXPECT_TRUE(scheduler.take_notice_retries().empty());  // once per arming
  EXPECT_EQ(scheduler.next_wakeup(), std::nullopt);
  // Queuing failed again: the engine's upsert arms the next retry.
  scheduler.upsert(owing);
  now_ += 60s;
  EXPECT_EQ(scheduler.take_notice_retries(), (std::vector<std::string>{"M1"}));
  // Queued: the message is done.
  owing.pending_notices.clear();
  scheduler.upsert(owing);
  EXPECT_EQ(scheduler.size(), 0u);
  now_ += 1h;
  EXPECT_TRUE(scheduler.take_notice_retries().empty());
}

TEST_F(SchedulerTest, APendingNoticeDoesNotHoldUpTheRecipientsThatStillWait) {
  auto scheduler = make();
  Envelope e = message("M1", {recipient("x@one.example", Recipient::State::Failed), recipient("y@two.example")});
  e.pending_notices.push_back({"N1", false, {{0, "5.1.1", "550 5.1.1 No such user", "", {}}}});
  scheduler.upsert(e);
  auto jobs = scheduler.take_due();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].next_hop, "two.example");
  EXPECT_EQ(jobs[0].recipients, (std::vector<std::size_t>{1}));
  scheduler.finished(jobs[0], false);
  // Delivered, with the notice still pending: kept for the notice alone.
  e.recipients[1].state = Recipient::State::Delivered;
  scheduler.upsert(e);
  EXPECT_EQ(scheduler.size(), 1u);
  now_ += 60s;
  EXPECT_TRUE(scheduler.take_due().empty());
  EXPECT_EQ(scheduler.take_notice_retries(), (std::vector<std::string>{"M1"}));
  scheduler.remove("M1");
  EXPECT_EQ(scheduler.size(), 0u);
  EXPECT_EQ(scheduler.next_wakeup(), std::nullopt);
}

}  // namespace
}  // namespace sluice::queue
