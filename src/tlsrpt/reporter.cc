#include "tlsrpt/reporter.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

#include "base/logging.h"
#include "base/text.h"
#include "tlsrpt/gzip.h"
#include "tlsrpt/record.h"
#include "tlsrpt/report_mail.h"

namespace sluice::tlsrpt {

std::vector<Report> reports_of(const Period& period, const ReporterSettings& settings,
                               const std::function<std::string()>& new_id) {
  std::map<std::string, Report> by_domain;
  for (const auto& policy : period.policies) {
    auto [it, added] = by_domain.try_emplace(ascii_lower(policy.policy.domain));
    Report& report = it->second;
    if (added) {
      report.organization_name = settings.organization;
      report.start = period.start;
      // RFC 8460 4.4's example ends the day at 23:59:59: the range is inclusive.
      report.end = period.end - std::chrono::seconds(1);
      report.contact_info = settings.contact;
      report.report_id = fmt::format("{}.{}@{}", rfc3339(period.start), new_id(), settings.submitter);
    }
    report.policies.push_back(policy);
  }
  std::vector<Report> out;
  for (auto& [domain, report] : by_domain) out.push_back(std::move(report));
  return out;
}

namespace {

/// The rua URIs of the domain's record, or why there are none.
Result<Record> record_of(const net::MailLookups& dns, const std::string& domain) {
  const auto answer = dns.txt(record_name(domain));
  if (answer.status == net::DnsAnswer::Status::NxDomain || answer.status == net::DnsAnswer::Status::NoData)
    return fail(fmt::format("no TXT record at {}", record_name(domain)));
  if (answer.status != net::DnsAnswer::Status::Ok)
    return fail(fmt::format("TXT lookup of {} failed: {}", record_name(domain), answer.error));
  auto record = select_record(answer.txt);
  if (!record) return fail(fmt::format("{}: {}", record_name(domain), record.error().message));
  return record;
}

Result<void> deliver_to(const std::string& rua, const Report& report, const std::string& gzipped,
                        const ReporterSettings& settings, const ReportSinks& sinks,
                        std::chrono::system_clock::time_point now) {
  if (starts_with_ascii_nocase(rua, "https:")) return sinks.post(rua, gzipped);
  ReportMail mail;
  mail.from = settings.from;
  mail.to = rua.substr(7);  // record.cc accepted only mailto: and https:
  mail.submitter = settings.submitter;
  mail.policy_domain = report.policies.front().policy.domain;
  mail.report_id = report.report_id;
  mail.gzipped_json = gzipped;
  mail.begin = report.start;
  mail.end = report.end;
  mail.now = now;
  mail.message_id_seed = sinks.new_id();
  std::string message = build_report_mail(mail);
  if (settings.dkim) message = settings.dkim->sign(message, now);
  return sinks.queue_mail(mail.to, message);
}

}  // namespace

std::vector<SentReport> send_reports(const Period& period, const ReporterSettings& settings, const ReportSinks& sinks,
                                     std::chrono::system_clock::time_point now) {
  std::vector<SentReport> out;
  for (const auto& report : reports_of(period, settings, sinks.new_id)) {
    SentReport sent;
    sent.policy_domain = report.policies.front().policy.domain;
    sent.report_id = report.report_id;
    auto record = record_of(*sinks.dns, sent.policy_domain);
    if (!record) {
      sent.problem = record.error().message;
      log_info("TLS-RPT: no report for {} ({}); its counts are dropped", sent.policy_domain, sent.problem);
      out.push_back(std::move(sent));
      continue;
    }
    const std::string gzipped = gzip_compress(report_to_json(report).dump());
    std::vector<std::string> problems;
    for (const auto& rua : record->rua) {
      if (auto delivered = deliver_to(rua, report, gzipped, settings, sinks, now); delivered) {
        sent.delivered.push_back(rua);
        log_info("TLS-RPT: report {} for {} sent to {}", report.report_id, sent.policy_domain, rua);
      } else {
        problems.push_back(fmt::format("{}: {}", rua, delivered.error().message));
        log_error("TLS-RPT: report {} for {} not sent to {}: {}", report.report_id, sent.policy_domain, rua,
                  delivered.error().message);
      }
    }
    sent.problem = fmt::format("{}", fmt::join(problems, "; "));
    out.push_back(std::move(sent));
  }
  return out;
}

}  // namespace sluice::tlsrpt
