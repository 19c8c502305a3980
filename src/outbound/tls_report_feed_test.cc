#include "outbound/tls_report_feed.h"

#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>
#include <asio/ip/address.hpp>

#include "base/temp_dir_test_util.h"

namespace sluice::outbound {
namespace {

const std::chrono::system_clock::time_point kNow = std::chrono::sys_days(std::chrono::year(2026) / 12 / 7);

Target target_with(PolicySource source, TlsLevel level) {
  Target t;
  t.host = "mx.example.org";
  t.endpoint = {asio::ip::make_address("198.51.100.7"), 25};
  t.tls.source = source;
  t.tls.level = level;
  t.tls.policy_domain = "example.org";
  return t;
}

AttemptResult connected() {
  AttemptResult r;
  r.local_endpoint = "192.0.2.1:40000";
  r.endpoint = "198.51.100.7:25";
  return r;
}

TEST(TlsReportFeed, X509ErrorsMapToRfcResultTypes) {
  EXPECT_EQ(tls_result_type_of(X509_V_ERR_HOSTNAME_MISMATCH), "certificate-host-mismatch");
  EXPECT_EQ(tls_result_type_of(X509_V_ERR_CERT_HAS_EXPIRED), "certificate-expired");
  EXPECT_EQ(tls_result_type_of(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT), "certificate-not-trusted");
  EXPECT_EQ(tls_result_type_of(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY), "certificate-not-trusted");
  EXPECT_EQ(tls_result_type_of(X509_V_ERR_CERT_REVOKED), "validation-failure");
}

TEST(TlsReportFeed, PolicyTypeFollowsTheSourceOfTheRequirement) {
  auto dane = target_with(PolicySource::Dane, TlsLevel::Dane);
  dane.tls.tlsa.push_back({3, 1, 1, {0xab, 0x01}});
  const auto tlsa = tls_report_policy(dane);
  EXPECT_EQ(tlsa.type, "tlsa");
  EXPECT_EQ(tlsa.strings, std::vector<std::string>{"3 1 1 ab01"});
  EXPECT_EQ(tlsa.domain, "example.org");
  auto sts_target = target_with(PolicySource::MtaSts, TlsLevel::Verify);
  sts_target.tls.sts_policy_text = "version: STSv1\r\nmode: enforce\r\nmx: *.example.org\r\nmax_age: 86400\r\n";
  sts_target.tls.sts_mx_patterns = {"*.example.org"};
  const auto sts = tls_report_policy(sts_target);
  EXPECT_EQ(sts.type, "sts");
  EXPECT_EQ(sts.strings,
            (std::vector<std::string>{"version: STSv1", "mode: enforce", "mx: *.example.org", "max_age: 86400"}));
  EXPECT_EQ(sts.mx_hosts, std::vector<std::string>{"*.example.org"});
  EXPECT_EQ(tls_report_policy(target_with(PolicySource::Table, TlsLevel::Encrypt)).type, "no-policy-found");
  EXPECT_EQ(tls_report_policy(target_with(PolicySource::Connector, TlsLevel::May)).type, "no-policy-found");
}

TEST(TlsReportFeed, SuccessFailureAndSessionsWithoutTls) {
  const auto target = target_with(PolicySource::Connector, TlsLevel::Encrypt);
  auto ok = connected();
  ok.tls = true;
  auto s = tls_report_session(target, ok, kNow);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->result_type, "");
  EXPECT_EQ(s->sending_mta_ip, "192.0.2.1");
  EXPECT_EQ(s->receiving_ip, "198.51.100.7");
  EXPECT_EQ(s->receiving_mx_hostname, "mx.example.org");

  auto refused = connected();
  refused.tls_result_type = "starttls-not-supported";
  ASSERT_TRUE(tls_report_session(target, refused, kNow));
  EXPECT_EQ(tls_report_session(target, refused, kNow)->result_type, "starttls-not-supported");

  auto dane = connected();
  dane.reply = smtp::make_reply(451, "4.7.5", "TLSA mismatch: no certificate matches");
  EXPECT_EQ(tls_report_session(target, dane, kNow)->result_type, "validation-failure");

  EXPECT_FALSE(tls_report_session(target, connected(), kNow));      // plaintext, nothing required
  EXPECT_FALSE(tls_report_session(target, AttemptResult{}, kNow));  // never connected
}

TEST(TlsReportFeed, CountedOnlyWithACollector) {
  ::sluice::test_util::TempDir dir("sluice-tlsrpt-feed");
  tlsrpt::Collector collector(dir.path(), std::chrono::hours(24), [] { return kNow; });
  auto ok = connected();
  ok.tls = true;
  const auto target = target_with(PolicySource::Connector, TlsLevel::May);
  count_tls_session(nullptr, target, ok);
  count_tls_session(&collector, target, ok);
  auto ended = collector.take_ended(kNow + std::chrono::hours(24));
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].policies[0].successful, 1u);
}

}  // namespace
}  // namespace sluice::outbound
