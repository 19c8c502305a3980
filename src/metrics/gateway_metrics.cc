#include "metrics/gateway_metrics.h"

#include <string>

namespace sluice::metrics {
namespace {

struct Families {
  Registry registry;
  Family<Gauge>& sessions = registry.gauge("sluice_sessions", "Inbound SMTP sessions open now", {"connector"});
  Family<Counter>& sessions_total =
      registry.counter("sluice_sessions_total", "Inbound SMTP connections taken by a receive connector", {"connector"});
  Family<Counter>& handshakes = registry.counter(
      "sluice_tls_handshakes_total",
      "TLS handshakes (STARTTLS) by direction, connector, version (negotiated; for a failed inbound one, the highest "
      "the client offered) and result (ok, refused: no common version or cipher, failed: anything else)",
      {"direction", "connector", "version", "result"});
  Family<Counter>& received = registry.counter("sluice_messages_received_total",
                                               "Messages accepted (250 after DATA or BDAT) and queued", {"connector"});
  Family<Counter>& deliveries = registry.counter(
      "sluice_deliveries_total",
      "Outcomes of delivery attempts, one per recipient: delivered, deferred (to be retried) or bounced (failed for "
      "good), with the error class of the attempt",
      {"outcome", "error_class"});
  Family<Histogram>& spool_writes =
      registry.histogram("sluice_spool_write_seconds",
                         "Time to write and fsync a received message into the queue, as the session waits for it",
                         {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5});
  Family<Counter>& auth_failures = registry.counter(
      "sluice_auth_failures_total", "Failed SMTP AUTH attempts on receive connectors", {"connector", "mechanism"});
  Family<Gauge>& node_info = registry.gauge(
      "sluice_node_info", "The gateway's name in a fleet (node_name, default the hostname); always 1", {"node"});
  Family<Counter>& token_refreshes = registry.counter(
      "sluice_oauth_token_refreshes_total", "OAuth access token requests of XOAUTH2 send connectors", {"result"});
  Family<Gauge>& draining = registry.gauge(
      "sluice_draining", "1 while the gateway drains: it refuses new sessions and stops once its queue is empty");
  // PROXY protocol
  Family<Counter>& proxy_health_checks = registry.counter(
      "sluice_proxy_health_checks_total",
      "Load balancer health checks: PROXY headers in which the balancer spoke for itself (v2 LOCAL, v1 UNKNOWN or "
      "naming the check connection itself)",
      {"connector"});
  Family<Counter>& proxy_refused = registry.counter(
      "sluice_proxy_header_refused_total",
      "Connections from proxy_from closed for a missing, malformed, over-long or late PROXY header", {"connector"});
};

Families& families() {
  static Families instance;
  return instance;
}

std::string_view direction_label(Direction direction) {
  return direction == Direction::Inbound ? "inbound" : "outbound";
}

}  // namespace

Registry& registry() { return families().registry; }

void node_info(std::string_view node) { families().node_info.with({std::string(node)}).add(); }

SessionCount::SessionCount(std::string_view connector) : open_(families().sessions.with({std::string(connector)})) {
  open_.add();
  families().sessions_total.with({std::string(connector)}).inc();
}

SessionCount::~SessionCount() { open_.sub(); }

void tls_handshake_ok(Direction direction, std::string_view connector, std::string_view version) {
  families()
      .handshakes.with({std::string(direction_label(direction)), std::string(connector), std::string(version), "ok"})
      .inc();
}

void declare_receive_connector(std::string_view connector) {
  const std::string name(connector);
  families().sessions.with({name});
  families().sessions_total.with({name});
  families().received.with({name});
  for (const char* version : {"TLS1_0", "TLS1_1", "TLS1_2", "TLS1_3"})
    for (const char* result : {"ok", "refused", "failed"})
      families().handshakes.with({"inbound", name, version, result});
}

std::string_view handshake_result(std::string_view reason) {
  return reason == "UnsupportedProtocol" || reason == "NoCipherOverlap" ? "refused" : "failed";
}

void tls_handshake_failed(Direction direction, std::string_view connector, std::string_view version,
                          std::string_view reason) {
  families()
      .handshakes
      .with({std::string(direction_label(direction)), std::string(connector), std::string(version),
             std::string(handshake_result(reason))})
      .inc();
}

void message_received(std::string_view connector) { families().received.with({std::string(connector)}).inc(); }

void delivery(std::string_view outcome, std::string_view error_class, std::uint64_t recipients) {
  if (recipients == 0) return;
  families().deliveries.with({std::string(outcome), std::string(error_class)}).inc(recipients);
}

void spool_write(std::chrono::steady_clock::duration took) {
  families().spool_writes.with({}).observe(std::chrono::duration<double>(took).count());
}

void auth_failure(std::string_view connector, std::string_view mechanism) {
  families().auth_failures.with({std::string(connector), std::string(mechanism)}).inc();
}

void token_refresh(bool ok) { families().token_refreshes.with({ok ? "ok" : "failed"}).inc(); }

void set_draining(bool draining) {
  Gauge& gauge = families().draining.with({});
  gauge.add((draining ? 1 : 0) - gauge.value());
}

void proxy_health_check(std::string_view connector) {
  families().proxy_health_checks.with({std::string(connector)}).inc();
}

void proxy_header_refused(std::string_view connector) { families().proxy_refused.with({std::string(connector)}).inc(); }

}  // namespace sluice::metrics
