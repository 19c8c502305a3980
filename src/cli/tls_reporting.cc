#include "cli/tls_reporting.h"

#include "base/logging.h"

namespace sluice::cli {

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
  auto sender = std::make_unique<outbound::TlsReportSender>(io, std::move(services));
  sender->start();
  log_info("TLS-RPT: counting outbound TLS sessions in {}, reports every {} s as {}", collector->dir().string(),
           config.tls_reporting.interval.count(), config.tls_reporting.submitter);
  return sender;
}

}  // namespace sluice::cli
