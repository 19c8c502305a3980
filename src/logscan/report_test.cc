#include "logscan/report.h"

#include <gtest/gtest.h>

namespace sluice::logscan {
namespace {

Aggregate sample() {
  Aggregate a;
  PeerStats& p = a.peers[Aggregate::peer_key(Direction::Inbound, "Default <main>", "192.0.2.1")];
  p.direction = Direction::Inbound;
  p.connector = "Default <main>";
  p.remote = "192.0.2.1";
  p.names = {"old&busted.example"};
  p.sessions = {1, 3, 0, 5, 0, 0};
  p.legacy_messages = 4;
  p.legacy_first = 1795763000000;
  p.legacy_last = 1795766600000;
  PeerStats& q = a.peers[Aggregate::peer_key(Direction::Outbound, "Out", "198.51.100.1")];
  q.direction = Direction::Outbound;
  q.connector = "Out";
  q.remote = "198.51.100.1";
  q.sessions = {0, 0, 0, 0, 7, 0};
  FailureStats& f = a.failures["x"];
  f.signature = "TLS negotiation failed with error SocketError";
  f.remote = "198.51.100.1";
  f.direction = Direction::Outbound;
  f.count = 2;
  f.first = 1795763000000;
  f.last = 1795763000000;
  f.example = {"SEND.LOG", 42, "a,b,\"<script>\""};
  a.sessions = {1, 3, 0, 5, 7, 0};
  a.hours[1795762800000] = {1, 3, 0, 5, 7, 0};
  a.files.push_back({"SEND.LOG", "exchange-send", 100, 50, 0, ""});
  return a;
}

TEST(Report, FindingsSetTheExitStatus) {
  Aggregate a = sample();
  EXPECT_EQ(build_report(a, {}).exit_status, 1);
  ReportOptions errors;
  errors.errors = {"x: No such file"};
  EXPECT_EQ(build_report(a, errors).exit_status, 2);
  Aggregate clean;
  EXPECT_EQ(build_report(clean, {}).exit_status, 0);
  // An input that was not read is said first, so that "none" is not taken for an all-clear.
  EXPECT_TRUE(render_text(build_report(clean, errors))
                  .starts_with("Inputs not read (1): the report below covers only the rest\n  x: No such file\n\n"
                               "Legacy TLS peers (TLS 1.0/1.1): 0\n  none\n"));
  EXPECT_TRUE(render_text(build_report(clean, {})).starts_with("Legacy TLS peers"));
}

TEST(Report, JsonCarriesTheNumbers) {
  Aggregate a = sample();
  auto j = render_json(build_report(a, {}));
  EXPECT_EQ(j["schema"], "sluice-logscan/1");
  ASSERT_EQ(j["legacy_peers"].size(), 1u);
  EXPECT_EQ(j["legacy_peers"][0]["remote"], "192.0.2.1");
  EXPECT_EQ(j["legacy_peers"][0]["sessions"]["TLS1_0"], 3);
  EXPECT_EQ(j["legacy_peers"][0]["messages"], 4);
  EXPECT_EQ(j["failures"][0]["example"]["line"], 42);
  EXPECT_EQ(j["summary"]["sessions"]["total"], 16);
  EXPECT_EQ(j["summary"]["bucket"], "hour");
  EXPECT_EQ(j["summary"]["timeline"][0]["TLS1_3"], 7);
  EXPECT_EQ(j["summary"]["top_peers"][0]["remote"], "192.0.2.1");  // 9 sessions beat 7
  EXPECT_EQ(j["exit_status"], 1);
}

TEST(Report, TextAndCsv) {
  Aggregate a = sample();
  Report r = build_report(a, {});
  std::string text = render_text(r);
  EXPECT_NE(text.find("Legacy TLS peers (TLS 1.0/1.1): 1"), std::string::npos);
  EXPECT_NE(text.find("SEND.LOG:42"), std::string::npos);
  std::string csv = render_csv(r);
  EXPECT_NE(csv.find("legacy_peer,inbound,Default <main>,192.0.2.1,old&busted.example,TLS1_0,3,4,"), std::string::npos);
  EXPECT_NE(csv.find("failure,outbound,,198.51.100.1,,TLS negotiation failed with error SocketError,2,"),
            std::string::npos);
}

TEST(Report, HtmlIsEscapedAndSelfContained) {
  Aggregate a = sample();
  std::string html = render_html(build_report(a, {}));
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("Default &lt;main&gt;"), std::string::npos);
  EXPECT_NE(html.find("old&amp;busted.example"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));  // no external assets
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html_escape("a'\"&<>"), "a&#39;&quot;&amp;&lt;&gt;");
}

TEST(Report, DayBucketsWhenTheLogsSpanDays) {
  Aggregate a;
  a.hours[0] = {1, 0, 0, 0, 0, 0};
  a.hours[3600000] = {0, 1, 0, 0, 0, 0};
  a.hours[5 * 86400000LL] = {0, 0, 1, 0, 0, 0};
  Report r = build_report(a, {});
  EXPECT_TRUE(r.by_day);
  ASSERT_EQ(r.timeline.size(), 2u);
  EXPECT_EQ(r.timeline[0].counts[0] + r.timeline[0].counts[1], 2u);
  ReportOptions hourly;
  hourly.bucket = Bucket::Hour;
  EXPECT_EQ(build_report(a, hourly).timeline.size(), 3u);
}

}  // namespace
}  // namespace sluice::logscan
