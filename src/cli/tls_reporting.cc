#include "cli/tls_reporting.h"

#include "base/logging.h"

namespace sluice::cli {
namespace {

/// The configuration has loaded the key once already (a bad one stops the start); this can only
/// fail when the file changed since, and then reports still go, unsigned, rather than not at all.
std::shared_ptr<const smtp::DkimSigner> load_report_signer(const config::TlsReporting& settings) {
  if (settings.dkim_key.empty()) {
    log_info("TLS-RPT reports will not be DKIM-signed (RFC 8460 5.3): no tls_reporting.dkim_key");
    return nullptr;
  }
  auto signer = smtp::DkimSigner::load(settings.dkim_key, settings.dkim_domain, settings.dkim_selector);
  if (!signer) {
    log_error("TLS-RPT reports will not be DKIM-signed (RFC 8460 5.3): tls_reporting.dkim_key {}",
              signer.error().message);
    return nullptr;
  }
  log_info("TLS-RPT: report mail is DKIM-signed as d={} s={}", settings.dkim_domain, settings.dkim_selector);
  return std::make_shared<const smtp::DkimSigner>(std::move(*signer));
}

}  // namespace

std::unique_ptr<tlsrpt::Collector> make_tls_report_collector(const config::Config& config) {
  if (!config.tls_reporting.enabled) return nullptr;
  return std::make_unique<tlsrpt::Collector>(config.state_dir / "tlsrpt", config.tls_reporting.interval);
}

std::unique_ptr<outbound::TlsReportSender> start_tls_report_sender(asio::io_context& io, const config::Config& config,
                                                                   tlsrpt::Collector* collector, queue::Spool& spool,
                                                                   const net::MailLookups& dns,
                                                                   outbound::DeliveryEngine& engine) {
  if (!collector) return nullptr;
  outbound::TlsReportServices services;
  services.settings = config.tls_reporting;
  services.collector = collector;
  services.spool = &spool;
  services.dns = &dns;
  services.queued = [&engine](const queue::Envelope& envelope) { engine.message_queued(envelope); };
  services.dkim = load_report_signer(config.tls_reporting);
  auto sender = std::make_unique<outbound::TlsReportSender>(io, std::move(services));
  sender->start();
  log_info("TLS-RPT: counting outbound TLS sessions in {}, reports every {} s as {}", collector->dir().string(),
           config.tls_reporting.interval.count(), config.tls_reporting.submitter);
  return sender;
}

}  // namespace sluice::cli
