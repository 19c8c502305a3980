// The metrics sluice exports (docs/metrics.md), as one-line calls for the places where the events
// happen. They are process-wide, as the events are: one registry per process, whatever the thread
// (every call is a map lookup under a short lock and an atomic add, never I/O).
#pragma once
#include <chrono>
#include <string_view>

#include "metrics/registry.h"

namespace sluice::metrics {

/// The process's registry, holding every family below (created on first use).
Registry& registry();

enum class Direction { Inbound, Outbound };

/// Counts an inbound session for as long as it lives: sluice_sessions (open now) and
/// sluice_sessions_total, by receive connector.
class SessionCount {
 public:
  explicit SessionCount(std::string_view connector);
  ~SessionCount();
  SessionCount(const SessionCount&) = delete;
  SessionCount& operator=(const SessionCount&) = delete;

 private:
  Gauge& open_;
};

/// Creates a receive connector's series at 0 (sessions, messages received, inbound handshakes of
/// each version and result), so that a query over a time range (increase(...[1d])) sees the
/// first event as a change from 0 instead of a series that appears with its first value.
void declare_receive_connector(std::string_view connector);

/// A TLS handshake that succeeded with `version` ("TLS1_2").
void tls_handshake_ok(Direction direction, std::string_view connector, std::string_view version);
/// A TLS handshake that failed for `reason` (tls/failure_reason.h: "UnsupportedProtocol", ...).
/// `version`: inbound, the highest the client offered in its ClientHello ("TLS1_0"); "unknown"
/// when none was read. UnsupportedProtocol and NoCipherOverlap count as result="refused" (the
/// policies had nothing in common), anything else as "failed".
void tls_handshake_failed(Direction direction, std::string_view connector, std::string_view version,
                          std::string_view reason);
/// "refused" or "failed", as above.
std::string_view handshake_result(std::string_view reason);

/// sluice_node_info{node="<node>"} 1: the gateway's name in a fleet, for PromQL to join on its
/// target (docs/metrics.md, "Several gateways"). Once, at start.
void node_info(std::string_view node);
/// A message was committed to the queue and answered 250.
void message_received(std::string_view connector);
/// One recipient's attempt ended: `outcome` "delivered", "deferred" or "bounced" (failed for good,
/// a notice owed); `error_class` its cause ("none" when delivered).
void delivery(std::string_view outcome, std::string_view error_class, std::uint64_t recipients = 1);
/// A message's spool write (with its fsync, through the group commit) took `took`.
void spool_write(std::chrono::steady_clock::duration took);
/// SMTP AUTH failed on a receive connector (`mechanism` is one the connector offers: "PLAIN").
void auth_failure(std::string_view connector, std::string_view mechanism);
/// An OAuth token request (XOAUTH2 send connectors) succeeded or failed.
void token_refresh(bool ok);

/// sluice_draining: 1 while the gateway drains (`sluice queue drain`), 0 otherwise. Set to 0 at
/// start, so the series exists before the first drain.
void set_draining(bool draining);
// PROXY protocol (docs/load-balancer.md), by receive connector.
/// A load balancer's health check: a PROXY header that named no client (v2 LOCAL, v1 UNKNOWN).
void proxy_health_check(std::string_view connector);
/// A connection from proxy_from closed for a missing, malformed, over-long or late PROXY header.
void proxy_header_refused(std::string_view connector);

}  // namespace sluice::metrics
