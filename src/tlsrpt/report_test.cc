#include "tlsrpt/report.h"

#include <gtest/gtest.h>

#include "tlsrpt/gzip.h"

namespace sluice::tlsrpt {
namespace {

using namespace std::chrono_literals;
using std::chrono::sys_days;

Report sample() {
  Report r;
  r.organization_name = "Example Org";
  r.start = sys_days(std::chrono::year(2026) / 12 / 7);
  r.end = r.start + 24h - 1s;
  r.contact_info = "postmaster@example.net";
  r.report_id = "id-1";
  PolicyResult p;
  p.policy = {.type = "sts",
              .strings = {"version: STSv1", "mode: enforce"},
              .domain = "example.org",
              .mx_hosts = {"*.example.org"}};
  p.successful = 5;
  p.failed = 2;
  FailureDetail f;
  f.result_type = "certificate-expired";
  f.sending_mta_ip = "192.0.2.1";
  f.receiving_mx_hostname = "mx.example.org";
  f.receiving_ip = "198.51.100.2";
  f.failed_session_count = 2;
  p.failures.push_back(f);
  r.policies.push_back(p);
  return r;
}

TEST(TlsrptReport, JsonHasTheRfcFieldsAndReadsBack) {
  const auto j = report_to_json(sample());
  EXPECT_EQ(j["date-range"]["start-datetime"], "2026-12-07T00:00:00Z");
  EXPECT_EQ(j["date-range"]["end-datetime"], "2026-12-07T23:59:59Z");
  EXPECT_EQ(j["policies"][0]["policy"]["policy-type"], "sts");
  EXPECT_EQ(j["policies"][0]["summary"]["total-failure-session-count"], 2);
  EXPECT_EQ(j["policies"][0]["failure-details"][0]["result-type"], "certificate-expired");
  EXPECT_FALSE(j["policies"][0]["failure-details"][0].contains("receiving-mx-helo"));  // empty: left out
  auto back = report_from_json(j);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->start, sample().start);
  EXPECT_EQ(back->policies[0].policy, sample().policies[0].policy);
  EXPECT_EQ(back->policies[0].failures[0].failed_session_count, 2u);
}

TEST(TlsrptReport, MalformedReportsNameTheField) {
  const std::pair<std::function<void(nlohmann::json&)>, const char*> cases[] = {
      {[](auto& j) { j.erase("organization-name"); }, "organization-name: missing"},
      {[](auto& j) { j["date-range"]["start-datetime"] = "yesterday"; }, "date-range.start-datetime: \"yesterday\""},
      {[](auto& j) { j["policies"] = 3; }, "policies: not an array"},
      {[](auto& j) { j["policies"][0]["policy"]["policy-type"] = "dane"; }, "policies[0].policy.policy-type"},
      {[](auto& j) { j["policies"][0]["summary"]["total-failure-session-count"] = -1; },
       "policies[0].summary.total-failure-session-count: not a count"},
      {[](auto& j) { j["policies"][0]["failure-details"][0].erase("failed-session-count"); },
       "policies[0].failure-details[0].failed-session-count: missing"},
      {[](auto& j) { j["policies"][0]["policy"]["mx-host"] = {1}; }, "policies[0].policy.mx-host: not an array"},
  };
  for (const auto& [mutate, why] : cases) {
    auto j = report_to_json(sample());
    mutate(j);
    auto r = report_from_json(j);
    ASSERT_FALSE(r) << why;
    EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
  }
}

TEST(TlsrptReport, Rfc3339WithOffsetsAndFractions) {
  const auto t = sys_days(std::chrono::year(2016) / 4 / 1);
  EXPECT_EQ(parse_rfc3339("2016-04-01T00:00:00Z"), t);
  EXPECT_EQ(parse_rfc3339("2016-04-01T02:00:00.123+02:00"), t);
  EXPECT_EQ(parse_rfc3339("2016-03-31T19:00:00-05:00"), t);
  EXPECT_FALSE(parse_rfc3339("2016-04-01"));
  EXPECT_FALSE(parse_rfc3339("2016-02-30T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2016-04-01T00:00:00"));
  EXPECT_EQ(rfc3339(t + 1h + 2min + 3s), "2016-04-01T01:02:03Z");
}

TEST(TlsrptGzip, RoundTripAndBadInput) {
  const std::string text(10000, 'x');
  const auto packed = gzip_compress(text);
  EXPECT_TRUE(looks_gzipped(packed));
  EXPECT_LT(packed.size(), text.size());
  auto back = gzip_decompress(packed);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, text);
  EXPECT_FALSE(gzip_decompress("plain"));
  EXPECT_FALSE(gzip_decompress(packed.substr(0, packed.size() / 2)));
  auto bomb = gzip_decompress(packed, 100);
  ASSERT_FALSE(bomb);
  EXPECT_NE(bomb.error().message.find("expands beyond"), std::string::npos);
}

}  // namespace
}  // namespace sluice::tlsrpt
