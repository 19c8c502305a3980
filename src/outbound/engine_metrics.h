// What the delivery engine adds to the metrics: the outcome of each recipient's attempt as it is
// recorded (sluice_deliveries_total), and the queue's gauges, read from the engine at scrape time.
#pragma once
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "outbound/delivery_engine.h"
#include "outbound/smtp_client.h"
#include "queue/envelope.h"

namespace sluice::outbound {

/// The states of `recipients` (indexes into the envelope) before an outcome is recorded.
std::vector<queue::Recipient::State> states_of(const queue::Envelope& envelope,
                                               const std::vector<std::size_t>& recipients);
/// Counts each of `recipients` whose state changed from `before` (or that was attempted again):
/// delivered, deferred or bounced, with `error_class` for the latter two.
void count_outcomes(const std::vector<queue::Recipient::State>& before, const queue::Envelope& after,
                    const std::vector<std::size_t>& recipients, std::string_view error_class);
/// The error class of an outbound attempt: the Failure's name ("SocketError", "ConnectFailed",
/// ...) when the attempt failed as a whole, else "RecipientRejected" (the server refused the
/// recipient at RCPT).
std::string_view error_class_of(const AttemptResult& result);

/// GET /metrics: every family of metrics::registry(), then the queue's gauges from `engine`
/// (sluice_queue_messages, and per next hop its messages and its oldest message's age at `now`).
/// On the network thread, the engine's.
std::string metrics_text(const DeliveryEngine& engine, std::chrono::system_clock::time_point now);

}  // namespace sluice::outbound
