#include "tlsrpt/received.h"

#include <gtest/gtest.h>

#include "tlsrpt/gzip.h"
#include "tlsrpt/report_mail.h"
#include "tlsrpt/summary.h"

namespace sluice::tlsrpt {
namespace {

using namespace std::chrono_literals;

Report report_of(const std::string& org, const std::string& domain, std::uint64_t ok, std::uint64_t failed,
                 const std::string& type, const std::string& mx) {
  Report r;
  r.organization_name = org;
  r.start = std::chrono::sys_days(std::chrono::year(2026) / 12 / 7);
  r.end = r.start + 24h - 1s;
  r.contact_info = "postmaster@" + org;
  r.report_id = org + "-1";
  PolicyResult p;
  p.policy.type = "sts";
  p.policy.domain = domain;
  p.successful = ok;
  p.failed = failed;
  if (failed) {
    FailureDetail f;
    f.result_type = type;
    f.receiving_mx_hostname = mx;
    f.failed_session_count = failed;
    p.failures.push_back(f);
  }
  r.policies.push_back(p);
  return r;
}

std::string mail_of(const Report& r) {
  ReportMail m;
  m.from = "tlsrpt@sender.example";
  m.to = "tlsrpt@example.org";
  m.submitter = "sender.example";
  m.policy_domain = r.policies[0].policy.domain;
  m.report_id = r.report_id;
  m.gzipped_json = gzip_compress(report_to_json(r).dump());
  m.begin = r.start;
  m.end = r.end;
  m.now = r.end + 1h;
  m.message_id_seed = "SEED";
  return build_report_mail(m);
}

TEST(TlsrptReceived, ReadsMailsAttachmentsAndJson) {
  const auto r = report_of("sender.example", "example.org", 10, 2, "certificate-expired", "mx1.example.org");
  const std::string mail = mail_of(r);
  std::string lf_mail;  // as some mail clients save it
  for (char c : mail)
    if (c != '\r') lf_mail += c;
  const std::string json = report_to_json(r).dump();
  for (const std::string& input : {mail, lf_mail, gzip_compress(json), json}) {
    auto read = read_report(input);
    ASSERT_TRUE(read) << read.error().message;
    EXPECT_EQ(read->organization_name, "sender.example");
    EXPECT_EQ(read->policies[0].failures[0].failed_session_count, 2u);
  }
}

TEST(TlsrptReceived, MalformedInputSaysWhatIsWrong) {
  const auto r = report_of("s.example", "example.org", 1, 0, "", "");
  std::string no_part = "Subject: hi\r\nContent-Type: text/plain\r\n\r\nhello\r\n";
  std::string bad_base64 = mail_of(r);
  bad_base64.insert(bad_base64.rfind("\r\n\r\n--=_sluice") - 4, "!!!");
  auto json = report_to_json(r);
  json["policies"][0].erase("summary");
  const std::pair<std::string, const char*> cases[] = {
      {no_part, "no application/tlsrpt+gzip or application/tlsrpt+json part"},
      {bad_base64, "not valid base64"},
      {gzip_compress("{not json"), "not valid JSON"},
      {gzip_compress(json.dump()).substr(0, 20), "damaged or cut short"},
      {json.dump(), "policies[0].summary: missing"},
      {"Content-Type: multipart/report\r\n\r\n--x\r\n", "without a boundary"},
  };
  for (const auto& [input, why] : cases) {
    auto read = read_report(input);
    ASSERT_FALSE(read) << why;
    EXPECT_NE(read.error().message.find(why), std::string::npos) << read.error().message;
  }
}

TEST(TlsrptSummary, PerOrganizationAndDomain) {
  const std::vector<Report> reports = {
      report_of("a.example", "example.org", 10, 2, "certificate-expired", "mx1.example.org"),
      report_of("a.example", "example.org", 5, 1, "starttls-not-supported", "mx2.example.org"),
      report_of("b.example", "example.org", 7, 0, "", "")};
  const auto s = summarize(reports);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].organization, "a.example");
  EXPECT_EQ(s[0].reports, 2u);
  EXPECT_EQ(s[0].successful, 15u);
  EXPECT_EQ(s[0].failed, 3u);
  EXPECT_EQ(s[0].failures_by_type.at("certificate-expired"), 2u);
  EXPECT_EQ(s[0].failures_by_mx.at("mx2.example.org"), 1u);
  EXPECT_EQ(s[1].failed, 0u);
  const auto text = summary_text(s);
  EXPECT_NE(text.find("a.example about example.org: 2 report(s)"), std::string::npos) << text;
  EXPECT_NE(text.find("failures: certificate-expired 2, starttls-not-supported 1"), std::string::npos) << text;
  EXPECT_EQ(summary_json(s)[1]["successful_sessions"], 7);
}

}  // namespace
}  // namespace sluice::tlsrpt
