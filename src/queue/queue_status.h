// The queue viewer's status of a recipient, a message and a next hop, and the one rule that ties
// each status to its next retry (docs/queue.md, "Status and next retry"):
//   Active  a delivery of it is running now;                           no next retry
//   Ready   it is due now and waits only for a free connection;        no next retry
//   Retry   nothing of it may be tried before its next retry, which is in the future: the latest
//           of its own next attempt and the end of its next hop's backoff
// So a row never says "Ready" with a retry to come, nor "Retry" with nothing to wait for.
#pragma once
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "queue/envelope.h"

namespace sluice::queue {

/// What the running gateway knows of a next hop beyond its envelopes.
struct HopLive {
  std::size_t running = 0;                                ///< deliveries in progress
  std::chrono::system_clock::time_point blocked_until{};  ///< its backoff after failures
  std::string last_error;                                 ///< of its last failed attempt
  std::set<std::string> delivering;                       ///< ids of the messages being delivered to it
};
using LiveHops = std::map<std::string, HopLive>;

inline constexpr std::string_view kActive = "Active";
inline constexpr std::string_view kReady = "Ready";
inline constexpr std::string_view kRetry = "Retry";
/// A message none of whose recipients waits, kept because a notice to its sender (a bounce)
/// could not be queued yet (Envelope::pending_notices); no next retry of its own.
inline constexpr std::string_view kBouncePending = "BouncePending";

struct Standing {
  std::string_view status;  ///< kActive, kReady or kRetry; "" before anything was combined
  std::optional<std::chrono::system_clock::time_point> next_retry;  ///< set exactly when status is kRetry
};

/// A recipient that is still waiting (pending or deferred) whose next hop is `hop`.
Standing recipient_standing(const Envelope& envelope, const Recipient& recipient, const std::string& hop,
                            const LiveHops& live, std::chrono::system_clock::time_point now);
/// A row of several recipients: Active if any is, else Ready if any is, else Retry at the earliest
/// of their next retries.
void combine(Standing& row, const Standing& part);

}  // namespace sluice::queue
