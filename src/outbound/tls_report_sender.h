// The gateway's TLS-RPT sender: at every reporting period's end (one UTC day by default) it
// turns the collector's counts into reports (tlsrpt/reporter) and delivers them: mail through our
// own spool and delivery engine, https: rua by POST (docs/outbound.md, "TLS-RPT"). In between it
// flushes the counts to the state directory, so a restart loses at most one flush interval.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>

#include <functional>
#include <string>

#include "config/config.h"
#include "net/dns.h"
#include "queue/envelope.h"
#include "queue/scheduler.h"
#include "queue/spool.h"
#include "smtp/dkim_sign.h"
#include "tlsrpt/collector.h"

namespace sluice::outbound {

struct TlsReportServices {
  config::TlsReporting settings;
  tlsrpt::Collector* collector = nullptr;
  queue::Spool* spool = nullptr;
  const net::MailLookups* dns = nullptr;  ///< _smtp._tls TXT records, https: rua hosts
  /// A report mail is in the spool: hand it to the delivery engine (called on the io thread).
  /// Empty in tests that look at the spool only.
  std::function<void(const queue::Envelope&)> queued;
  queue::Clock clock;                            ///< empty: the system clock
  std::shared_ptr<const smtp::DkimSigner> dkim;  ///< signs report mail; null: unsigned
};

/// The spool envelope of a report mail for `to`: marked with tlsrpt::kReportConnector, so its
/// own delivery is not counted.
queue::Envelope report_envelope(const std::string& id, const std::string& from, const std::string& to,
                                std::uint64_t size, std::chrono::system_clock::time_point now);

class TlsReportSender {
 public:
  TlsReportSender(asio::io_context& io, TlsReportServices services);
  /// Starts the periodic flush and send; stop() ends it (the last counts are flushed).
  void start();
  void stop();
  /// Blocking: flushes, then sends the reports of every ended period (the timer's work).
  void run_once();

 private:
  void arm();

  asio::io_context& io_;
  TlsReportServices services_;
  asio::steady_timer timer_;
  bool stopped_ = false;
  /// The blocking work (DNS, spool writes, HTTPS POSTs of up to 30 s) has a thread of its own:
  /// it must not hold up the spool writes every 250 waits for. Last member: joined first.
  asio::thread_pool worker_{1};
};

}  // namespace sluice::outbound
