// The queue side of the control socket (docs/queue.md, "control socket"): the JSON requests
// "list", "show", "retry" and "remove" and their answers. The running queue (the delivery
// engine) is reached through QueueControl, so the protocol is tested without one.
#pragma once
#include <chrono>
#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "queue/envelope.h"
#include "queue/queue_view.h"

namespace sluice::queue {

class QueueControl {
 public:
  virtual ~QueueControl() = default;

  /// Every queued envelope, and one by id (nullptr when unknown).
  virtual std::vector<const Envelope*> envelopes() const = 0;
  virtual const Envelope* find(const std::string& id) const = 0;
  /// The running queue's hop states, by next hop.
  virtual std::map<std::string, HopLive> hops() const = 0;
  /// Right after a restart: envelopes read of the spool's total; total 0 once it is all read.
  struct Loading {
    std::size_t read = 0, total = 0;
  };
  virtual Loading loading() const = 0;
  virtual std::chrono::system_clock::time_point now() const = 0;

  /// Makes the open recipients of message `id` (of every message when empty) due now, those of
  /// next hop or domain `domain` only when it is not empty (lower case), and clears the backoff
  /// of their hops (of every hop when both are empty). Returns how many messages will be tried.
  /// `id`, when given, is a known message.
  virtual std::size_t retry(const std::string& id, const std::string& domain) = 0;
  /// Fails the open recipients of known message `id`, bouncing them when `bounce`.
  virtual void remove(const std::string& id, bool bounce) = 0;
};

/// The answer to one request: {"ok": true, ...} or {"ok": false, "error": "..."}.
nlohmann::json control_answer(const nlohmann::json& request, QueueControl& queue);

}  // namespace sluice::queue
