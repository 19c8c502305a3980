#include "stats.h"

#include <gtest/gtest.h>

namespace sluice::bench {
namespace {

TEST(Percentile, NearestRank) {
  std::vector<std::int64_t> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_EQ(percentile(v, 50), 50);
  EXPECT_EQ(percentile(v, 90), 90);
  EXPECT_EQ(percentile(v, 99), 99);
  EXPECT_EQ(percentile(v, 100), 100);
  EXPECT_EQ(percentile(v, 0), 1);
}

TEST(Percentile, SmallAndEmptySets) {
  EXPECT_EQ(percentile({}, 50), 0);
  EXPECT_EQ(percentile({7}, 99), 7);
  // Of 3 values, p50 is the 2nd (ceil 1.5), p90 and p99 the 3rd.
  std::vector<std::int64_t> v{10, 20, 30};
  EXPECT_EQ(percentile(v, 50), 20);
  EXPECT_EQ(percentile(v, 90), 30);
  EXPECT_EQ(percentile(v, 99), 30);
}

TEST(Summarize, RatesAndLatencyInMilliseconds) {
  Stats s;
  s.messages_ok = 4;
  s.messages_failed = 1;
  s.connections = 2;
  s.latencies_ns = {4'000'000, 1'000'000, 3'000'000, 2'000'000};  // unsorted on purpose
  Summary out;
  summarize(s, 2.0, out);
  EXPECT_DOUBLE_EQ(out.messages_per_s, 2.0);
  EXPECT_DOUBLE_EQ(out.connections_per_s, 1.0);
  EXPECT_DOUBLE_EQ(out.p50_ms, 2.0);
  EXPECT_DOUBLE_EQ(out.p90_ms, 4.0);
  EXPECT_DOUBLE_EQ(out.max_ms, 4.0);
  EXPECT_EQ(out.messages_failed, 1u);
}

TEST(Summarize, FailureWindowFromTheFirstToTheLastFailedSessionOfAllThreads) {
  Stats a, b, none;
  a.record_failed_session(2'500'000'000);
  a.record_failed_session(2'000'000'000);  // out of order: the window is min..max
  b.record_failed_session(3'250'000'000);
  b.messages_retried = 2;
  a.merge(std::move(b));
  a.merge(std::move(none));  // a thread without failures leaves the window alone
  Summary out;
  summarize(a, 5, out);
  EXPECT_EQ(out.sessions_failed, 3u);
  EXPECT_EQ(out.messages_retried, 2u);
  EXPECT_DOUBLE_EQ(out.first_failure_ms, 2000);
  EXPECT_DOUBLE_EQ(out.last_failure_ms, 3250);
  EXPECT_DOUBLE_EQ(out.failure_window_ms, 1250);
  EXPECT_NE(format_text(out).find("3 sessions failed from 2000 ms to 3250 ms (window 1250 ms), 2 retries"),
            std::string::npos)
      << format_text(out);
  EXPECT_NE(format_json(out).find("\"sessions_failed\":3,\"messages_retried\":2,\"first_failure_ms\":2000.000,"
                                  "\"last_failure_ms\":3250.000,\"failure_window_ms\":1250.000"),
            std::string::npos)
      << format_json(out);
}

TEST(Summarize, NoFailureNoWindow) {
  Stats s;
  s.messages_ok = 1;
  Summary out;
  summarize(s, 1, out);
  EXPECT_EQ(out.sessions_failed, 0u);
  EXPECT_DOUBLE_EQ(out.first_failure_ms, -1);
  EXPECT_DOUBLE_EQ(out.failure_window_ms, 0);
  EXPECT_EQ(format_text(out).find("failures"), std::string::npos);
}

TEST(Summarize, ZeroElapsedGivesZeroRates) {
  Stats s;
  s.messages_ok = 3;
  Summary out;
  summarize(s, 0, out);
  EXPECT_EQ(out.messages_per_s, 0);
}

TEST(Stats, ErrorsAreCountedByTextMostFrequentFirst) {
  Stats s;
  s.record_error("connect: Connection refused");
  s.record_error("RCPT TO answered 550 5.1.1 unknown");
  s.record_error("RCPT TO answered 550 5.1.1 unknown");
  Summary out;
  summarize(s, 1, out);
  EXPECT_EQ(out.errors, 3u);
  ASSERT_EQ(out.error_texts.size(), 2u);
  EXPECT_EQ(out.error_texts[0].first, "RCPT TO answered 550 5.1.1 unknown");
  EXPECT_EQ(out.error_texts[0].second, 2u);
}

TEST(Stats, DistinctErrorTextsAreCapped) {
  Stats s;
  for (int i = 0; i < 50; ++i) s.record_error("451 queue id " + std::to_string(i));
  EXPECT_EQ(s.errors, 50u);
  EXPECT_EQ(s.error_texts.size(), 21u);  // 20 texts and the "further" bucket
  EXPECT_EQ(s.error_texts["(further distinct errors)"], 30u);
}

TEST(Stats, MergeAddsCountersAndLatencies) {
  Stats a, b;
  a.messages_ok = 2;
  a.latencies_ns = {1, 2};
  b.messages_ok = 1;
  b.latencies_ns = {3};
  b.record_error("x");
  b.tls.version = "TLSv1.3";
  a.merge(std::move(b));
  EXPECT_EQ(a.messages_ok, 3u);
  EXPECT_EQ(a.latencies_ns.size(), 3u);
  EXPECT_EQ(a.errors, 1u);
  EXPECT_EQ(a.error_texts["x"], 1u);
  EXPECT_EQ(a.tls.version, "TLSv1.3");
}

TEST(Json, StringsAreEscaped) { EXPECT_EQ(json_string("a\"b\\c\r\n\x01\xff"), "\"a\\\"b\\\\c\\r\\n\\u0001\\u00ff\""); }

TEST(Json, ReportCarriesErrorTexts) {
  Summary s;
  s.error_texts = {{"550 \"no\"", 2}};
  s.errors = 2;
  std::string j = format_json(s);
  EXPECT_NE(j.find("\"error_texts\":[{\"count\":2,\"text\":\"550 \\\"no\\\"\"}]"), std::string::npos) << j;
  EXPECT_NE(j.find("\"errors\":2,"), std::string::npos) << j;
}

}  // namespace
}  // namespace sluice::bench
