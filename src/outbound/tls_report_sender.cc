#include "outbound/tls_report_sender.h"

#include <fmt/format.h>
#include <asio/post.hpp>

#include <algorithm>

#include "base/ids.h"
#include "base/logging.h"
#include "net/https_fetch.h"
#include "tlsrpt/report_mail.h"
#include "tlsrpt/reporter.h"

namespace sluice::outbound {
namespace {

/// How often counts are flushed and ended periods looked for: a quarter of the period, between
/// a second (test periods) and a minute (what a crash may lose).
std::chrono::seconds tick_of(std::chrono::seconds interval) {
  return std::clamp(interval / 4, std::chrono::seconds(1), std::chrono::seconds(60));
}

/// "host" of "https://host:8443/path".
std::string url_host(const std::string& url) {
  std::string rest = url.substr(url.find("://") + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (rest.starts_with('[')) return rest.substr(1, rest.find(']') - 1);
  return rest.substr(0, rest.find(':'));
}

Result<void> post_report(const TlsReportServices& s, const std::string& url, const std::string& gzipped) {
  net::HttpsRequest request;
  request.url = url;
  request.post_body = gzipped;
  request.post_content_type = "application/tlsrpt+gzip";  // RFC 8460 5.4
  request.ca_file = s.settings.ca_file;
  // Our resolver, as for mail: the rua host is looked up where the MX hosts are.
  const auto answer = s.dns->addresses(url_host(url));
  if (answer.status != net::DnsAnswer::Status::Ok)
    return fail(fmt::format("cannot resolve {}: {}", url_host(url), answer.error));
  request.addresses = answer.addresses;
  auto response = net::https_request(request);
  if (!response) return fail(response.error().message);
  // RFC 8460 5.4: a 2xx is a success; anything else may be tried later (we do not: logged).
  if (response->status < 200 || response->status > 299) return fail(fmt::format("HTTP {}", response->status));
  return {};
}

}  // namespace

queue::Envelope report_envelope(const std::string& id, const std::string& from, const std::string& to,
                                std::uint64_t size, std::chrono::system_clock::time_point now) {
  queue::Envelope envelope;
  envelope.id = id;
  envelope.mail_from = from;
  queue::Recipient recipient;
  recipient.address = to;
  envelope.recipients.push_back(std::move(recipient));
  envelope.body_type = "7BIT";
  envelope.size = size;
  envelope.received = now;
  envelope.connector = tlsrpt::kReportConnector;
  return envelope;
}

TlsReportSender::TlsReportSender(asio::io_context& io, TlsReportServices services)
    : io_(io), services_(std::move(services)), timer_(io) {
  if (!services_.clock) services_.clock = [] { return std::chrono::system_clock::now(); };
}

void TlsReportSender::start() { arm(); }

void TlsReportSender::stop() {
  stopped_ = true;
  timer_.cancel();
  if (auto flushed = services_.collector->flush(); !flushed)
    log_error("TLS-RPT: counts not saved: {}", flushed.error().message);
}

void TlsReportSender::arm() {
  if (stopped_) return;
  timer_.expires_after(tick_of(services_.settings.interval));
  timer_.async_wait([this](std::error_code ec) {
    if (ec || stopped_) return;
    asio::post(worker_, [this] {
      run_once();
      asio::post(io_, [this] { arm(); });
    });
  });
}

void TlsReportSender::run_once() {
  auto& s = services_;
  if (auto flushed = s.collector->flush(); !flushed)
    log_error("TLS-RPT: counts not saved: {}", flushed.error().message);
  const auto now = s.clock();
  auto periods = s.collector->take_ended(now);
  if (periods.empty()) return;
  tlsrpt::ReporterSettings settings{s.settings.organization, s.settings.contact, s.settings.submitter, s.settings.from,
                                    s.dkim.get()};
  tlsrpt::ReportSinks sinks;
  sinks.dns = s.dns;
  sinks.new_id = [] { return new_hex_id(); };
  sinks.post = [&s](const std::string& url, const std::string& gzipped) { return post_report(s, url, gzipped); };
  sinks.queue_mail = [this, now](const std::string& to, const std::string& message) -> Result<void> {
    auto envelope = report_envelope(new_hex_id(), services_.settings.from, to, message.size(), now);
    if (auto stored = services_.spool->store(envelope, message); !stored)
      return fail("cannot queue it: " + stored.error().message());
    // The engine lives on the io thread.
    asio::post(io_, [this, envelope] {
      if (services_.queued) services_.queued(envelope);
    });
    return {};
  };
  for (const auto& period : periods) {
    tlsrpt::send_reports(period, settings, sinks, now);
    s.collector->finished(period);
  }
}

}  // namespace sluice::outbound
