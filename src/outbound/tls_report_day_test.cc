// The test at the engine's level: a day of deliveries (a fake clock, scripted SMTP
// sessions) to three domains with different TLS outcomes, then the sender at midnight: the report
// mails in the spool carry the day's counts, and the report mails' own deliveries are not counted.
#include <gtest/gtest.h>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>

#include <algorithm>
#include <functional>
#include <map>

#include "base/base64.h"
#include "base/ids.h"
#include "base/temp_dir_test_util.h"
#include "outbound/delivery_engine.h"
#include "outbound/tls_report_sender.h"
#include "queue/maildir.h"
#include "tlsrpt/gzip.h"
#include "tlsrpt/received.h"

namespace sluice::outbound {
namespace {

using namespace std::chrono_literals;

/// One MX per domain, mx.<domain> at 127.0.0.1; _smtp._tls records from a table.
struct TlsReportDns : net::MailLookups {
  std::map<std::string, std::string> txt_records;
  net::DnsAnswer mx(const std::string& domain) const override {
    net::DnsAnswer a;
    a.status = net::DnsAnswer::Status::Ok;
    a.hosts.push_back({"mx." + domain, 10, false});
    return a;
  }
  net::DnsAnswer addresses(const std::string&) const override {
    net::DnsAnswer a;
    a.status = net::DnsAnswer::Status::Ok;
    a.addresses.push_back(asio::ip::make_address("127.0.0.1"));
    return a;
  }
  net::DnsRecords txt(const std::string& name) const override {
    auto it = txt_records.find(name);
    if (it == txt_records.end()) return {net::DnsAnswer::Status::NxDomain, "NXDOMAIN", false, {}, {}};
    return {net::DnsAnswer::Status::Ok, "", false, {it->second}, {}};
  }
};

/// good.test: TLS; plain.test: no STARTTLS under a required policy; badcert.test: an expired
/// certificate. Every session of a report mail goes to report.test and succeeds with TLS.
class TlsOutcomeTransport : public Transport {
 public:
  std::map<std::string, int> sessions;  ///< by host
  std::function<std::chrono::system_clock::time_point()> clock;
  std::map<std::string, std::vector<std::chrono::system_clock::time_point>> times;  ///< by host
  std::vector<std::string> reports;  ///< the messages delivered to mx.report.test
  asio::awaitable<AttemptResult> deliver(const ClientSettings&, const Target& target, const Transaction& tx,
                                         TlsAttempt) override {
    ++sessions[target.host];
    times[target.host].push_back(clock());
    AttemptResult r;
    r.endpoint = "127.0.0.1:25";
    r.local_endpoint = "127.0.0.1:40000";
    if (target.host == "mx.plain.test" || target.host == "mx.badcert.test") {
      r.failure = Failure::TlsUnavailable;
      r.tls_result_type = target.host == "mx.plain.test" ? "starttls-not-supported" : "certificate-expired";
      r.reply = smtp::make_reply(451, "4.7.5", "TLS failed");
      r.recipients.assign(tx.recipients.size(), r.reply);
      co_return r;
    }
    if (target.host == "mx.report.test") reports.push_back(*tx.message);
    r.tls = true;
    r.transaction_started = r.data_accepted = true;
    r.recipients.assign(tx.recipients.size(), smtp::make_reply(250, "2.0.0", "OK"));
    co_return r;
  }
};

TEST(TlsReportDay, ADayOfDeliveriesIsReportedAtMidnightAndReportsAreNotCounted) {
  ::sluice::test_util::TempDir dir("sluice-tlsrpt-day");
  auto now = std::chrono::system_clock::time_point(std::chrono::sys_days(std::chrono::year(2026) / 12 / 7));
  config::Config cfg;
  cfg.hostname = "gw.test";
  cfg.queue.retry_min = 3h;
  cfg.queue.retry_max = 3h;
  cfg.queue.hop_backoff_max = 1s;
  cfg.queue.lifetime = 72h;
  config::SendConnector everywhere;
  everywhere.name = "Default";
  cfg.send_connectors = {everywhere};
  cfg.tls_reporting.enabled = true;
  cfg.tls_reporting.submitter = "gw.test";
  cfg.tls_reporting.from = "tlsrpt@gw.test";
  queue::Spool spool(dir.path() / "queue");
  queue::MaildirStore maildirs(dir.path() / "maildir");
  TlsReportDns dns;
  dns.txt_records["_smtp._tls.good.test"] = "v=TLSRPTv1; rua=mailto:rua@report.test";
  dns.txt_records["_smtp._tls.plain.test"] = "v=TLSRPTv1; rua=mailto:rua@report.test";
  // badcert.test publishes no record: no report.
  TlsOutcomeTransport transport;
  transport.clock = [&] { return now; };
  tlsrpt::Collector collector(dir.path() / "tlsrpt", 24h, [&] { return now; });
  asio::io_context io;
  EngineServices s;
  s.config = config::unowned_snapshot(cfg);
  s.spool = &spool;
  s.maildirs = &maildirs;
  s.resolver = &dns;
  s.disk = io.get_executor();
  s.transport = &transport;
  s.clock = [&] { return now; };
  s.tls_reports = &collector;
  DeliveryEngine engine(io, s);
  engine.start();
  auto settle = [&] {
    for (int i = 0; i < 3000; ++i) {
      if (io.poll() == 0 && engine.running() == 0) return;
      io.run_one_for(10ms);
    }
    FAIL() << "the engine did not settle";
  };
  auto queue_to = [&](const std::string& rcpt) {
    queue::Envelope e;
    e.id = new_hex_id();
    e.mail_from = "alice@gw.test";
    e.recipients.emplace_back().address = rcpt;
    e.body_type = "7BIT";
    e.received = now;
    const std::string message = "Subject: hi\r\n\r\nHi.\r\n";
    e.size = message.size();
    ASSERT_TRUE(spool.store(e, message));
    engine.message_queued(e);
  };
  // Every 3 hours a message to each domain: 8 each; the failed ones are retried (3 h) and count again.
  for (int i = 0; i < 8; ++i) {
    queue_to("bob@good.test");
    queue_to("bob@plain.test");
    queue_to("bob@badcert.test");
    settle();
    now += 3h;
    engine.wake();
    settle();
  }
  // Retries (with the scheduler's jitter and the hop's backoff) decide how many sessions there
  // were: the transport's record of them on 2026-12-07 is what the report must say.
  const auto day_end = now;
  auto sessions_on_the_day = [&](const std::string& host) {
    return static_cast<std::uint64_t>(
        std::count_if(transport.times[host].begin(), transport.times[host].end(), [&](auto t) { return t < day_end; }));
  };
  const auto plain_sessions = sessions_on_the_day("mx.plain.test");
  const auto badcert_sessions = sessions_on_the_day("mx.badcert.test");
  EXPECT_EQ(transport.sessions["mx.good.test"], 8);
  EXPECT_GE(plain_sessions, 8u);

  TlsReportServices rs;
  rs.settings = cfg.tls_reporting;
  rs.collector = &collector;
  rs.spool = &spool;
  rs.dns = &dns;
  rs.queued = [&](const queue::Envelope& e) { engine.message_queued(e); };
  rs.clock = [&] { return now; };
  TlsReportSender sender(io, rs);
  sender.run_once();  // 2026-12-08 00:00: the day is over
  settle();           // the report mails are delivered to mx.report.test: not counted

  EXPECT_EQ(transport.sessions["mx.report.test"], 2);
  now += 24h;
  auto next_day = collector.take_ended(now);
  for (const auto& period : next_day)
    for (const auto& p : period.policies) EXPECT_NE(p.policy.domain, "report.test") << "a report was counted";

  std::map<std::string, tlsrpt::Report> by_domain;
  for (const auto& mail : transport.reports) {
    EXPECT_NE(mail.find("TLS-Report-Submitter: gw.test"), std::string::npos);
    auto report = tlsrpt::read_report(mail);
    ASSERT_TRUE(report) << report.error().message;
    by_domain[report->policies.at(0).policy.domain] = *report;
  }
  ASSERT_EQ(by_domain.size(), 2u);  // good.test and plain.test; badcert.test has no record
  const auto& good = by_domain.at("good.test").policies;
  ASSERT_EQ(good.size(), 1u);
  EXPECT_EQ(good[0].policy.type, "no-policy-found");
  EXPECT_EQ(good[0].successful, 8u);
  EXPECT_EQ(good[0].failed, 0u);
  const auto& plain = by_domain.at("plain.test").policies;
  EXPECT_EQ(plain[0].successful, 0u);
  EXPECT_EQ(plain[0].failed, plain_sessions);
  ASSERT_EQ(plain[0].failures.size(), 1u);
  EXPECT_EQ(plain[0].failures[0].result_type, "starttls-not-supported");
  EXPECT_EQ(plain[0].failures[0].receiving_mx_hostname, "mx.plain.test");
  EXPECT_EQ(plain[0].failures[0].sending_mta_ip, "127.0.0.1");
  EXPECT_EQ(by_domain.at("plain.test").start, now - 48h);
  EXPECT_GE(badcert_sessions, 8u);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "tlsrpt" / "2026-12-07T00-00-00Z.json"));
}

}  // namespace
}  // namespace sluice::outbound
