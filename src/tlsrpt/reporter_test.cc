// The issue's test: a day of deliveries (a fake clock) to three domains with different outcomes
// gives reports whose JSON validates against RFC 8460 4.4 (the schema check is written out here,
// apart from the code under test) and whose counts match what was delivered.
#include "tlsrpt/reporter.h"

#include <gtest/gtest.h>

#include <map>
#include <regex>

#include "base/base64.h"
#include "base/temp_dir_test_util.h"
#include "smtp/dkim_test_key.h"
#include "tlsrpt/gzip.h"
#include "tlsrpt/report_mail.h"

namespace sluice::tlsrpt {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using std::chrono::sys_days;

const std::chrono::system_clock::time_point kReportingDay = sys_days(std::chrono::year(2026) / 12 / 7);

class TxtTable : public net::MailLookups {
 public:
  std::map<std::string, std::vector<std::string>> records;
  net::DnsAnswer mx(const std::string&) const override { return {}; }
  net::DnsAnswer addresses(const std::string&) const override { return {}; }
  net::DnsRecords txt(const std::string& name) const override {
    auto it = records.find(name);
    if (it == records.end()) return {net::DnsAnswer::Status::NxDomain, "NXDOMAIN", false, {}, {}};
    return {net::DnsAnswer::Status::Ok, "", false, it->second, {}};
  }
};

// RFC 8460 4.4, field by field: required members, their JSON types, the enumerations, the
// date-times. Returns the problems found ("" when the report conforms).
std::string schema_problems(const json& r) {
  std::string problems;
  auto need = [&](const json& o, const char* key, json::value_t type, const std::string& where) {
    if (!o.is_object() || !o.contains(key)) {
      problems += where + key + " missing; ";
      return false;
    }
    const auto t = o[key].type();
    const bool ok = t == type || (type == json::value_t::number_unsigned && t == json::value_t::number_integer &&
                                  o[key].get<long long>() >= 0);
    if (!ok) problems += where + key + " has the wrong type; ";
    return ok;
  };
  const std::regex date_time(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d))");
  need(r, "organization-name", json::value_t::string, "");
  need(r, "contact-info", json::value_t::string, "");
  need(r, "report-id", json::value_t::string, "");
  if (need(r, "date-range", json::value_t::object, ""))
    for (const char* k : {"start-datetime", "end-datetime"})
      if (need(r["date-range"], k, json::value_t::string, "date-range.") &&
          !std::regex_match(r["date-range"][k].get<std::string>(), date_time))
        problems += std::string("date-range.") + k + " is not a date-time; ";
  if (!need(r, "policies", json::value_t::array, "")) return problems;
  for (const auto& p : r["policies"]) {
    if (need(p, "policy", json::value_t::object, "policies[].")) {
      const auto& pol = p["policy"];
      if (need(pol, "policy-type", json::value_t::string, "policy.")) {
        const auto type = pol["policy-type"].get<std::string>();
        if (type != "sts" && type != "tlsa" && type != "no-policy-found") problems += "policy-type " + type + "; ";
      }
      need(pol, "policy-domain", json::value_t::string, "policy.");
      for (const char* k : {"policy-string", "mx-host"})
        if (pol.contains(k) && need(pol, k, json::value_t::array, "policy."))
          for (const auto& s : pol[k])
            if (!s.is_string()) problems += std::string(k) + " holds a non-string; ";
    }
    if (need(p, "summary", json::value_t::object, "policies[]."))
      for (const char* k : {"total-successful-session-count", "total-failure-session-count"})
        need(p["summary"], k, json::value_t::number_unsigned, "summary.");
    if (p.contains("failure-details") && need(p, "failure-details", json::value_t::array, "policies[]."))
      for (const auto& f : p["failure-details"]) {
        if (need(f, "result-type", json::value_t::string, "failure-details[].") &&
            !is_result_type(f["result-type"].get<std::string>()))
          problems += "unknown result-type; ";
        need(f, "failed-session-count", json::value_t::number_unsigned, "failure-details[].");
        for (const char* k : {"sending-mta-ip", "receiving-mx-hostname", "receiving-ip", "additional-information"})
          if (f.contains(k)) need(f, k, json::value_t::string, "failure-details[].");
      }
  }
  return problems;
}

/// The attachment of a report mail: base64 between the attachment's headers and the boundary.
std::string attachment_of(const std::string& mail) {
  const auto headers = mail.find("Content-Type: application/tlsrpt+gzip");
  const auto body = mail.find("\r\n\r\n", headers) + 4;
  const auto end = mail.find("\r\n--", body);
  std::string b64 = mail.substr(body, end - body);
  std::erase_if(b64, [](char c) { return c == '\r' || c == '\n'; });
  return base64_decode(b64).value_or("");
}

struct Sent {
  std::string to, message;
};

TEST(TlsrptDay, ThreeDomainsGiveSchemaValidReportsWithTheirCounts) {
  test_util::TempDir dir("sluice-tlsrpt");
  auto now = kReportingDay;  // the fake clock
  Collector collector(dir.path(), 24h);
  auto deliver = [&](const std::string& domain, const std::string& type, const std::string& result) {
    Session s;
    s.when = now;
    s.policy.type = type;
    s.policy.domain = domain;
    s.result_type = result;
    s.sending_mta_ip = "192.0.2.1";
    s.receiving_ip = "198.51.100.7";
    s.receiving_mx_hostname = "mx." + domain;
    collector.record(s);
  };
  // A day: every 10 minutes a delivery to each domain (144 each).
  for (int i = 0; i < 144; ++i, now += 10min) {
    deliver("good.example", "no-policy-found", "");
    deliver("plain.example", "sts", i % 2 ? "" : "starttls-not-supported");
    deliver("badcert.example", "tlsa", "validation-failure");
  }
  ASSERT_TRUE(collector.flush());
  EXPECT_TRUE(collector.take_ended(now - 1s).empty());  // 23:59:59: the day is not over
  auto periods = collector.take_ended(now + 5min);
  ASSERT_EQ(periods.size(), 1u);

  TxtTable dns;
  dns.records["_smtp._tls.good.example"] = {"v=TLSRPTv1; rua=mailto:tlsrpt@good.example"};
  dns.records["_smtp._tls.plain.example"] = {"v=TLSRPTv1; rua=mailto:r@plain.example,https://rpt.plain.example/x"};
  // badcert.example publishes nothing: no report, its counts are dropped.
  std::vector<Sent> mails, posts;
  int ids = 0;
  ReportSinks sinks{.dns = &dns,
                    .queue_mail = [&](const std::string& to, const std::string& m) -> Result<void> {
                      mails.push_back({to, m});
                      return {};
                    },
                    .post = [&](const std::string& url, const std::string& gz) -> Result<void> {
                      posts.push_back({url, gz});
                      return {};
                    },
                    .new_id = [&] { return "ID" + std::to_string(++ids); }};
  const ReporterSettings settings{.organization = "Sluice Test",
                                  .contact = "postmaster@gw.example",
                                  .submitter = "gw.example",
                                  .from = "tlsrpt@gw.example"};
  const auto sent = send_reports(periods[0], settings, sinks, now + 5min);
  ASSERT_EQ(sent.size(), 3u);
  std::map<std::string, SentReport> by_domain;
  for (const auto& s : sent) by_domain[s.policy_domain] = s;
  EXPECT_TRUE(by_domain["badcert.example"].delivered.empty());
  EXPECT_NE(by_domain["badcert.example"].problem.find("no TXT record"), std::string::npos);

  ASSERT_EQ(mails.size(), 2u);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].to, "https://rpt.plain.example/x");
  std::map<std::string, json> reports;  // by policy domain, from the mails
  for (const auto& m : mails) {
    EXPECT_NE(m.message.find("Content-Type: multipart/report; report-type=\"tlsrpt\""), std::string::npos);
    EXPECT_NE(m.message.find("TLS-Report-Submitter: gw.example\r\n"), std::string::npos);
    EXPECT_NE(m.message.find("Subject: Report Domain: "), std::string::npos);
    auto json_text = gzip_decompress(attachment_of(m.message));
    ASSERT_TRUE(json_text) << json_text.error().message;
    auto report = json::parse(*json_text);
    EXPECT_EQ(schema_problems(report), "") << report.dump(2);
    const auto domain = report["policies"][0]["policy"]["policy-domain"].get<std::string>();
    EXPECT_NE(m.message.find("TLS-Report-Domain: " + domain + "\r\n"), std::string::npos);
    EXPECT_NE(m.message.find("filename=\"gw.example!" + domain + "!1796601600!1796687999!"), std::string::npos);
    reports[domain] = report;
  }
  EXPECT_EQ(json::parse(*gzip_decompress(posts[0].message)), reports["plain.example"]);

  const auto& good = reports.at("good.example");
  EXPECT_EQ(good["date-range"]["start-datetime"], "2026-12-07T00:00:00Z");
  EXPECT_EQ(good["date-range"]["end-datetime"], "2026-12-07T23:59:59Z");
  EXPECT_EQ(good["organization-name"], "Sluice Test");
  EXPECT_EQ(good["policies"][0]["summary"]["total-successful-session-count"], 144);
  EXPECT_EQ(good["policies"][0]["summary"]["total-failure-session-count"], 0);
  const auto& plain = reports.at("plain.example")["policies"][0];
  EXPECT_EQ(plain["policy"]["policy-type"], "sts");
  EXPECT_EQ(plain["summary"]["total-successful-session-count"], 72);
  EXPECT_EQ(plain["summary"]["total-failure-session-count"], 72);
  ASSERT_EQ(plain["failure-details"].size(), 1u);
  EXPECT_EQ(plain["failure-details"][0]["result-type"], "starttls-not-supported");
  EXPECT_EQ(plain["failure-details"][0]["failed-session-count"], 72);
  EXPECT_EQ(plain["failure-details"][0]["receiving-mx-hostname"], "mx.plain.example");
}

TEST(TlsrptDay, TheSchemaCheckCatchesWhatTheRfcForbids) {
  // The check itself can fail: a report missing fields or with bad values is caught.
  json bad = {{"organization-name", 1},
              {"date-range", {{"start-datetime", "2026-12-07"}}},
              {"policies", {{{"policy", {{"policy-type", "dane"}}}, {"summary", json::object()}}}}};
  const auto problems = schema_problems(bad);
  for (const char* p : {"organization-name has the wrong type", "contact-info missing", "report-id missing",
                        "start-datetime is not a date-time", "end-datetime missing", "policy-type dane",
                        "policy-domain missing", "total-failure-session-count missing"})
    EXPECT_NE(problems.find(p), std::string::npos) << p << " in " << problems;
}

Period day_with_one_session(const std::string& policy_domain) {
  Period period{kReportingDay, kReportingDay + 24h, {}};
  Session one;
  one.when = kReportingDay;
  one.policy.domain = policy_domain;
  add_session(period.policies, one);
  return period;
}

TEST(TlsrptDay, AFailedRuaIsReportedAndTheOthersStillGetIt) {
  TxtTable dns;
  dns.records["_smtp._tls.a.example"] = {"v=TLSRPTv1; rua=https://down.example/r,mailto:r@a.example"};
  const Period period = day_with_one_session("a.example");
  int mails = 0;
  ReportSinks sinks{
      .dns = &dns,
      .queue_mail = [&](const std::string&, const std::string&) -> Result<void> {
        ++mails;
        return {};
      },
      .post = [](const std::string&, const std::string&) -> Result<void> { return fail("could not connect"); },
      .new_id = [] { return std::string("X"); }};
  ReporterSettings settings;
  settings.submitter = "gw.example";
  settings.from = "t@gw.example";
  auto sent = send_reports(period, settings, sinks, kReportingDay + 25h);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(mails, 1);
  EXPECT_EQ(sent[0].delivered, std::vector<std::string>{"mailto:r@a.example"});
  EXPECT_EQ(sent[0].problem, "https://down.example/r: could not connect");
}

TEST(TlsrptDay, ReportMailIsDkimSignedWhenASignerIsGiven) {
  auto signer = smtp::DkimSigner::from_pem(smtp::dkim_test_key(1024).private_pem, "gw.example", "rpt");
  ASSERT_TRUE(signer);
  TxtTable dns;
  dns.records["_smtp._tls.a.example"] = {"v=TLSRPTv1; rua=mailto:r@a.example"};
  const Period period = day_with_one_session("a.example");
  std::vector<std::string> mails;
  ReportSinks sinks{.dns = &dns,
                    .queue_mail = [&](const std::string&, const std::string& m) -> Result<void> {
                      mails.push_back(m);
                      return {};
                    },
                    .post = {},
                    .new_id = [] { return std::string("X"); }};
  ReporterSettings settings;
  settings.submitter = "gw.example";
  settings.from = "t@gw.example";
  send_reports(period, settings, sinks, kReportingDay + 25h);
  settings.dkim = &*signer;
  send_reports(period, settings, sinks, kReportingDay + 25h);
  ASSERT_EQ(mails.size(), 2u);
  EXPECT_TRUE(mails[0].starts_with("From: "));
  EXPECT_TRUE(mails[1].starts_with("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=gw.example; s=rpt;"));
  EXPECT_NE(mails[1].find("h=From:To:Subject:Date:Message-ID:MIME-Version:Content-Type:TLS-Report-Domain:"
                          "TLS-Report-Submitter;"),
            std::string::npos);
  EXPECT_TRUE(mails[1].ends_with(mails[0]));
}

}  // namespace
}  // namespace sluice::tlsrpt
