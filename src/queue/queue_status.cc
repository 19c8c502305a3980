#include "queue/queue_status.h"

#include <algorithm>

namespace sluice::queue {

Standing recipient_standing(const Envelope& envelope, const Recipient& recipient, const std::string& hop,
                            const LiveHops& live, std::chrono::system_clock::time_point now) {
  auto due = recipient.next_attempt;  // the epoch (null in the envelope) is "as soon as possible"
  if (auto it = live.find(hop); it != live.end()) {
    // In a running job: due when it started (a recipient of the same message not yet due is not in it).
    if (due <= now && it->second.delivering.count(envelope.id)) return {kActive, std::nullopt};
    // Nothing of a hop in backoff is tried before the backoff ends.
    if (it->second.blocked_until > now) due = std::max(due, it->second.blocked_until);
  }
  if (due <= now) return {kReady, std::nullopt};
  return {kRetry, due};
}

void combine(Standing& row, const Standing& part) {
  if (row.status == kActive || part.status == kActive) {
    row = {kActive, std::nullopt};
  } else if (row.status == kReady || part.status == kReady) {
    row = {kReady, std::nullopt};
  } else if (row.status.empty()) {
    row = part;
  } else if (part.next_retry && (!row.next_retry || *part.next_retry < *row.next_retry)) {
    row.next_retry = part.next_retry;
  }
}

}  // namespace sluice::queue
