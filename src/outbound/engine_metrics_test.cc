// The delivery engine's metrics: outcomes counted as they are recorded, and the queue's gauges as
// a scrape shows them.
#include "outbound/engine_metrics.h"

#include <gtest/gtest.h>

#include "metrics/metrics_test_util.h"

namespace sluice::outbound {
namespace {

using metrics::test_util::series_value;
using State = queue::Recipient::State;
using namespace std::chrono_literals;

queue::Envelope envelope_in(std::vector<State> states) {
  queue::Envelope e;
  e.id = "E1";
  for (auto state : states) {
    e.recipients.emplace_back();
    e.recipients.back().state = state;
  }
  return e;
}

TEST(EngineMetrics, EachRecipientOfTheAttemptCountsOnceByOutcome) {
  const std::string delivered = "sluice_deliveries_total{outcome=\"delivered\",error_class=\"none\"}";
  const std::string deferred = "sluice_deliveries_total{outcome=\"deferred\",error_class=\"TestClassA\"}";
  const std::string bounced = "sluice_deliveries_total{outcome=\"bounced\",error_class=\"TestClassA\"}";
  const double delivered_before = series_value(delivered), deferred_before = series_value(deferred),
               bounced_before = series_value(bounced);
  auto e = envelope_in({State::Pending, State::Deferred, State::Pending, State::Delivered, State::Pending});
  const std::vector<std::size_t> job = {0, 1, 2, 3};  // 4 is another hop's
  const auto before = states_of(e, job);
  e.recipients[0].state = State::Delivered;
  e.recipients[1].state = State::Deferred;  // tried again, deferred again: counted
  e.recipients[2].state = State::Failed;
  e.recipients[4].state = State::Failed;  // not in this job
  count_outcomes(before, e, job, "TestClassA");
  EXPECT_EQ(series_value(delivered) - delivered_before, 1);  // recipient 3 was delivered before
  EXPECT_EQ(series_value(deferred) - deferred_before, 1);
  EXPECT_EQ(series_value(bounced) - bounced_before, 1);
}

TEST(EngineMetrics, ErrorClassIsTheFailureElseTheRecipientsRefusal) {
  AttemptResult result;
  EXPECT_EQ(error_class_of(result), "RecipientRejected");
  result.failure = Failure::SocketError;
  EXPECT_EQ(error_class_of(result), "SocketError");
  result.failure = Failure::ConnectFailed;
  EXPECT_EQ(error_class_of(result), "ConnectFailed");
}

}  // namespace
}  // namespace sluice::outbound
