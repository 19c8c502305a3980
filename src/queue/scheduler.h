// When to try what: per-recipient retry with exponential backoff and jitter, message lifetime,
// per-next-hop backoff and concurrency (docs/queue.md). Pure decisions on an injected clock; it
// reads and writes no files and opens no sockets: the delivery engine acts on what it decides.
#pragma once
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "queue/envelope.h"

namespace sluice::queue {

using Clock = std::function<std::chrono::system_clock::time_point()>;

/// Delay before retry number `attempts` (1 = after the first failure): retry_min * 2^(attempts-1),
/// at most retry_max, then scaled by a factor in [1 - jitter, 1 + jitter] from `random01` in [0, 1),
/// so that messages deferred together do not come back together. Rounded to the nearest second
/// and never below 1 s (so the jittered value may exceed retry_max by up to `jitter`).
/// attempts < 1 counts as 1; random01 and jitter outside their ranges are clamped.
std::chrono::seconds retry_delay(int attempts, const config::QueueSettings& settings, double random01,
                                 double jitter = 0.2);

/// One delivery to start now: the recipients of one message that share a next hop (they go in
/// one transaction).
struct Job {
  std::string message_id;
  std::string next_hop;              ///< grouping key: recipient domain, or the smart host text
  std::vector<std::size_t> recipients;  ///< indexes into the envelope's recipients
};

class Scheduler {
 public:
  /// `next_hop_of(recipient address)` names its next hop ("local" for local domains, handled elsewhere).
  /// It is asked every time (Recipient::next_hop is not used), so a routing change applies at once.
  /// max_per_hop and settings.max_deliveries of 0 count as 1.
  Scheduler(config::QueueSettings settings, Clock clock, std::function<std::string(const std::string&)> next_hop_of,
            std::size_t max_per_hop = 5, std::uint64_t seed = std::random_device{}());

  /// Adds or replaces a message (after it was spooled, or reloaded after a restart).
  void upsert(const Envelope& envelope);
  void remove(const std::string& message_id);

  /// Jobs that are due now, within the overall and per-hop concurrency limits and outside any hop
  /// backoff. Each returned job counts as running until finished() is called for it.
  /// Due: Pending or Deferred with next_attempt <= now. Never a (message, hop) already running.
  /// Oldest messages (Envelope::received, then id) first, one job per hop per round, so a hop with
  /// much mail cannot take all of max_deliveries.
  std::vector<Job> take_due();

  /// Outcome of a job, per recipient of the job (same order): the engine updates the envelope and
  /// calls upsert(); this only tracks hop health and running counts. `hop_failed` is true when the
  /// whole attempt failed at the connection level (no reply, TLS failure, 4xx to banner): the hop
  /// then backs off so other messages to it are not tried until it recovers: blocked for
  /// retry_delay(consecutive failures) with retry_max = hop_backoff_max. Success clears it.
  /// A job that is not running (unknown, or finished twice) is ignored.
  void finished(const Job& job, bool hop_failed);

  /// When the next job becomes due: the earliest max(next_attempt, hop's blocked_until) over
  /// waiting non-local recipients, but never before now (now: take_due() has work). Recipients
  /// that can start only after a running job ends (their (message, hop) is running, their hop or
  /// the overall limit is full) are left out: finished() is the event to wait for then.
  /// Nullopt: nothing waits on a timer (in particular, nothing queued).
  std::optional<std::chrono::system_clock::time_point> next_wakeup() const;

  /// Makes everything due now ("queue retry"); with a next hop, only that hop (its backoff cleared).
  /// Changes only the scheduler's copies (next_attempt of Deferred recipients := now); the engine
  /// records the outcome of the attempts that follow as usual.
  void retry_now(const std::string& next_hop = {});

  /// For the queue viewer: hop health.
  struct HopState {
    int consecutive_failures = 0;
    std::chrono::system_clock::time_point blocked_until{};
    std::size_t running = 0;
  };
  const std::map<std::string, HopState>& hops() const { return hops_; }

  /// What the envelope should say after a failed attempt for one recipient: its next attempt time
  /// (attempts counted in the recipient), or nullopt when its lifetime has run out (bounce it).
  /// The next attempt is never after received + lifetime: the last try is at the expiry time.
  std::optional<std::chrono::system_clock::time_point> reschedule(const Envelope& envelope,
                                                                  const Recipient& recipient);
  /// True once the envelope is older than delay_warning (when enabled) and no warning went out,
  /// while some recipient is still Pending or Deferred.
  bool needs_delay_warning(const Envelope& envelope) const;

 private:
  double random01();
  bool hop_blocked(const std::string& hop, std::chrono::system_clock::time_point now) const;
  std::size_t hop_running(const std::string& hop) const;
  std::vector<const Envelope*> oldest_first() const;

  config::QueueSettings settings_;
  Clock clock_;
  std::function<std::string(const std::string&)> next_hop_of_;
  std::size_t max_per_hop_;
  std::mt19937_64 random_;
  std::map<std::string, Envelope> messages_;
  std::set<std::pair<std::string, std::string>> running_;  ///< (message id, next hop)
  std::map<std::string, HopState> hops_;
  std::size_t running_total_ = 0;
};

}  // namespace sluice::queue
