// Turns an ended period's counts into reports (RFC 8460 4.4), one per policy domain, and hands
// each to the rua of the domain's `_smtp._tls` record: a mail for mailto:, a POST for https:.
// Delivery itself is injected (the gateway queues mail in its spool and POSTs with libcurl), so
// this is tested with a fake clock and recording sinks. Blocking: DNS, spool and HTTP.
#pragma once
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "net/dns.h"
#include "smtp/dkim_sign.h"
#include "tlsrpt/collector.h"
#include "tlsrpt/report.h"

namespace sluice::tlsrpt {

struct ReporterSettings {
  std::string organization;                ///< organization-name
  std::string contact;                     ///< contact-info
  std::string submitter;                   ///< TLS-Report-Submitter, report ids' domain (the gateway's hostname)
  std::string from;                        ///< the report mail's sender (MAIL FROM and From:)
  const smtp::DkimSigner* dkim = nullptr;  ///< signs report mail (RFC 8460 5.3); null: unsigned
};

struct ReportSinks {
  const net::MailLookups* dns = nullptr;  ///< TXT lookups of _smtp._tls.<domain>
  /// Stores a report mail (the whole message) for `to` in the queue.
  std::function<Result<void>(const std::string& to, const std::string& message)> queue_mail;
  /// POSTs the gzipped report to an https: rua.
  std::function<Result<void>(const std::string& url, const std::string& gzipped)> post;
  std::function<std::string()> new_id;  ///< unique ids for reports and Message-IDs
};

/// The reports of `period`, one per policy domain in it, policies in order.
std::vector<Report> reports_of(const Period& period, const ReporterSettings& settings,
                               const std::function<std::string()>& new_id);

struct SentReport {
  std::string policy_domain;
  std::string report_id;
  std::vector<std::string> delivered;  ///< rua URIs the report was queued or posted to
  std::string problem;                 ///< why it went nowhere or not everywhere; empty: all went
};

/// Sends the period's reports; domains without a (valid) record get none (logged: their counts
/// are dropped). Each outcome is logged and returned.
std::vector<SentReport> send_reports(const Period& period, const ReporterSettings& settings, const ReportSinks& sinks,
                                     std::chrono::system_clock::time_point now);

}  // namespace sluice::tlsrpt
