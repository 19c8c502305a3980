// `sluice serve`'s TLS-RPT parts when [tls_reporting] is enabled: the collector the delivery
// engine feeds and the sender of the reports (docs/outbound.md, "TLS-RPT").
#pragma once
#include <asio/io_context.hpp>

#include <memory>

#include "config/config.h"
#include "net/dns.h"
#include "outbound/delivery_engine.h"
#include "outbound/tls_report_sender.h"
#include "queue/spool.h"
#include "tlsrpt/collector.h"

namespace sluice::cli {

/// The counts in <state_dir>/tlsrpt; null when reporting is off. Throws when the directory
/// cannot be made (serve reports it and exits).
std::unique_ptr<tlsrpt::Collector> make_tls_report_collector(const config::Config& config);

/// The sender, started; null when `collector` is null. A changed [tls_reporting] needs a restart.
std::unique_ptr<outbound::TlsReportSender> start_tls_report_sender(asio::io_context& io, const config::Config& config,
                                                                   tlsrpt::Collector* collector, queue::Spool& spool,
                                                                   const net::MailLookups& dns,
                                                                   outbound::DeliveryEngine& engine);

}  // namespace sluice::cli
