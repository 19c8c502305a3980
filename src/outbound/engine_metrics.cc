#include "outbound/engine_metrics.h"

#include <algorithm>

#include "metrics/gateway_metrics.h"
#include "metrics/text_format.h"
#include "outbound/outcome.h"

namespace sluice::outbound {

using State = queue::Recipient::State;

std::vector<State> states_of(const queue::Envelope& envelope, const std::vector<std::size_t>& recipients) {
  std::vector<State> states;
  states.reserve(recipients.size());
  for (auto i : recipients) states.push_back(i < envelope.recipients.size() ? envelope.recipients[i].state : State{});
  return states;
}

void count_outcomes(const std::vector<State>& before, const queue::Envelope& after,
                    const std::vector<std::size_t>& recipients, std::string_view error_class) {
  std::uint64_t delivered = 0, deferred = 0, bounced = 0;
  for (std::size_t k = 0; k < recipients.size() && k < before.size(); ++k) {
    if (recipients[k] >= after.recipients.size()) continue;
    const State was = before[k], now = after.recipients[recipients[k]].state;
    // Only what this attempt decided: a recipient that had already ended is not counted again.
    if (was == State::Delivered || was == State::Failed) continue;
    delivered += now == State::Delivered;
    deferred += now == State::Deferred;
    bounced += now == State::Failed;
  }
  metrics::delivery("delivered", "none", delivered);
  metrics::delivery("deferred", error_class, deferred);
  metrics::delivery("bounced", error_class, bounced);
}

std::string_view error_class_of(const AttemptResult& result) {
  return result.failure == Failure::None ? "RecipientRejected" : failure_name(result.failure);
}

std::string metrics_text(const DeliveryEngine& engine, std::chrono::system_clock::time_point now) {
  metrics::TextWriter out;
  metrics::registry().write(out);
  out.family("sluice_queue_messages", "Messages in the queue (waiting for delivery or owing a notice)",
             metrics::Type::Gauge);
  out.sample("sluice_queue_messages", {}, static_cast<double>(engine.queued()));
  const auto backlog = engine.backlog();
  out.family("sluice_queue_next_hop_messages", "Queued messages with a recipient waiting for this next hop",
             metrics::Type::Gauge);
  for (const auto& hop : backlog)
    out.sample("sluice_queue_next_hop_messages", {{"next_hop", hop.hop}}, static_cast<double>(hop.messages));
  out.family("sluice_queue_next_hop_oldest_message_age_seconds",
             "Age of the oldest message waiting for this next hop (since it was received)", metrics::Type::Gauge);
  for (const auto& hop : backlog)
    out.sample("sluice_queue_next_hop_oldest_message_age_seconds", {{"next_hop", hop.hop}},
               std::max(0.0, std::chrono::duration<double>(now - hop.oldest).count()));
  return out.take();
}

}  // namespace sluice::outbound
