#include "tlsrpt/collector.h"

#include <gtest/gtest.h>

#include "base/temp_dir_test_util.h"

namespace sluice::tlsrpt {
namespace {

using namespace std::chrono_literals;
using std::chrono::sys_days;
using test_util::TempDir;

const std::chrono::system_clock::time_point kDay = sys_days(std::chrono::year(2026) / 12 / 7);

Session session(std::chrono::system_clock::time_point when, const std::string& domain, const std::string& result) {
  Session s;
  s.when = when;
  s.policy.domain = domain;
  s.result_type = result;
  s.sending_mta_ip = "127.0.0.1";
  s.receiving_ip = "127.0.0.2";
  s.receiving_mx_hostname = "mx." + domain;
  return s;
}

TEST(TlsrptCollector, CountsPerPolicyAndMergesFailuresOfOneKind) {
  std::vector<PolicyResult> policies;
  add_session(policies, session(kDay, "a.example", ""));
  add_session(policies, session(kDay, "a.example", "certificate-expired"));
  add_session(policies, session(kDay, "a.example", "certificate-expired"));
  add_session(policies, session(kDay, "b.example", "starttls-not-supported"));
  ASSERT_EQ(policies.size(), 2u);
  EXPECT_EQ(policies[0].successful, 1u);
  EXPECT_EQ(policies[0].failed, 2u);
  ASSERT_EQ(policies[0].failures.size(), 1u);
  EXPECT_EQ(policies[0].failures[0].failed_session_count, 2u);
  EXPECT_EQ(policies[1].failures[0].result_type, "starttls-not-supported");
}

TEST(TlsrptCollector, PeriodsAreUtcDaysAndEndedOnesAreTaken) {
  TempDir dir("sluice-tlsrpt");
  Collector c(dir.path(), 24h);
  c.record(session(kDay + 23h, "a.example", ""));
  c.record(session(kDay + 25h, "a.example", ""));  // the next day
  EXPECT_TRUE(c.take_ended(kDay + 23h + 59min).empty());
  auto ended = c.take_ended(kDay + 24h);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].start, kDay);
  EXPECT_EQ(ended[0].end, kDay + 24h);
  EXPECT_EQ(ended[0].policies[0].successful, 1u);
  EXPECT_TRUE(c.take_ended(kDay + 24h).empty());  // taken once
}

TEST(TlsrptCollector, FlushedCountsSurviveARestartUntilFinished) {
  TempDir dir("sluice-tlsrpt");
  {
    Collector c(dir.path(), 24h);
    c.record(session(kDay + 1h, "a.example", "certificate-not-trusted"));
    c.record(session(kDay + 2h, "a.example", ""));
    ASSERT_TRUE(c.flush());
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "2026-12-07T00-00-00Z.json"));
    c.record(session(kDay + 3h, "a.example", ""));  // not flushed: lost with the process
  }
  Collector again(dir.path(), 24h);
  auto ended = again.take_ended(kDay + 48h);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].policies[0].successful, 1u);
  EXPECT_EQ(ended[0].policies[0].failed, 1u);
  again.finished(ended[0]);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "2026-12-07T00-00-00Z.json"));
  Collector third(dir.path(), 24h);
  EXPECT_TRUE(third.take_ended(kDay + 48h).empty());
}

TEST(TlsrptCollector, AnUnreadableFileIsLeftAndSkipped) {
  TempDir dir("sluice-tlsrpt");
  std::ofstream(dir.path() / "2026-12-07T00-00-00Z.json") << "{not json";
  Collector c(dir.path(), 24h);
  EXPECT_TRUE(c.take_ended(kDay + 48h).empty());
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "2026-12-07T00-00-00Z.json"));
}

}  // namespace
}  // namespace sluice::tlsrpt
