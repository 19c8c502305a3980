// The queue side of the control socket (docs/queue.md, "The control socket"): the JSON requests
// "list", "messages", "show", "retry" and "remove" and their answers. Filters are applied here, in
// the gateway, so that only what matched travels. The running queue (the delivery engine) is
// reached through QueueControl, so the protocol is tested without one; `sluice queue` also runs
// it over a spool on disk when no gateway runs.
#pragma once
#include <chrono>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "queue/envelope.h"
#include "queue/queue_filter.h"
#include "queue/queue_status.h"

namespace sluice::queue {

/// Rows per "messages" answer by default, and at most: the gateway answers on its network thread,
/// so one request must stay short (a page of 5,000 of a 100,000-message queue: about 0.1 s);
/// `sluice queue` pages through more.
inline constexpr std::size_t kMessagesPerPage = 1000;
inline constexpr std::size_t kMaxMessagesPerPage = 5000;

class QueueControl {
 public:
  virtual ~QueueControl() = default;

  /// Every queued envelope, and one by id (nullptr when unknown).
  virtual std::vector<const Envelope*> envelopes() const = 0;
  virtual const Envelope* find(const std::string& id) const = 0;
  /// The running queue's hop states, by next hop.
  virtual LiveHops hops() const = 0;
  /// Right after a restart: envelopes read of the spool's total; total 0 once it is all read.
  struct Loading {
    std::size_t read = 0, total = 0;
  };
  virtual Loading loading() const = 0;
  virtual std::chrono::system_clock::time_point now() const = 0;

  /// Makes the waiting recipients of the known messages `ids` that `filter`'s recipient-level tests
  /// select due now, and clears the backoff of their hops (of every hop when `every_hop`). Returns
  /// how many of the messages had such a recipient (they will be tried).
  virtual std::size_t retry(const std::vector<std::string>& ids, const QueueFilter& filter, bool every_hop) = 0;
  /// Fails the open recipients of known message `id`, bouncing them when `bounce`.
  virtual void remove(const std::string& id, bool bounce) = 0;
};

/// The answer to one request: {"ok": true, ...} or {"ok": false, "error": "..."}.
nlohmann::json control_answer(const nlohmann::json& request, QueueControl& queue);

}  // namespace sluice::queue
