// When to try what: per-recipient retry with exponential backoff and jitter, message lifetime and
// delay warnings, per-next-hop backoff and concurrency (docs/queue.md). Pure decisions on an
// injected clock; it reads and writes no files and opens no sockets: the delivery engine acts on
// what it decides.
//
// Every structure is indexed by time or by next hop, so that an event (a message queued, an
// outcome, a timer) costs O(log n) in the size of the queue, never a walk over it: a backlog of
// 100,000 deferred messages must not slow the intake of new mail or the drain once the next hop
// is back. A next hop that is down is one state: the mail for it waits on the hop, and one
// delivery at a time probes it until it answers; then everything due for it flows at its full
// concurrency.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
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

/// The next hop of local delivery: it has its own concurrency and does not take an outbound slot.
inline constexpr std::string_view kLocalHop = "local";

/// One delivery to start now: the recipients of one message that share a next hop (they go in
/// one transaction).
struct Job {
  std::string message_id;
  std::string next_hop;                 ///< grouping key: recipient domain, or the smart host text, or "local"
  std::vector<std::size_t> recipients;  ///< indexes into the envelope's recipients
};

/// A next hop as the queue viewer shows it.
struct HopState {
  int consecutive_failures = 0;                           ///< attempts in a row that failed at the connection level
  std::chrono::system_clock::time_point blocked_until{};  ///< no new attempt before this
  std::size_t running = 0;                                ///< deliveries in progress
  std::size_t limit = 1;   ///< its concurrency (the send connector's max_connections_per_host)
  std::size_t ready = 0;   ///< messages due now that wait for a slot or for the backoff
  smtp::Reply last_error;  ///< the reply or error of its last failed attempt
};

/// A next hop's share of the queue, for the metrics.
struct HopBacklog {
  std::string hop;
  std::size_t messages = 0;                        ///< messages with a recipient waiting for it
  std::chrono::system_clock::time_point oldest{};  ///< the earliest Envelope::received among them
};

class Scheduler {
 public:
  /// The concurrency of a next hop, asked once when the hop is first seen (0 counts as 1).
  using HopLimit = std::function<std::size_t(const std::string& hop)>;

  /// settings.max_deliveries of 0 counts as 1; it bounds outbound deliveries, not local ones.
  Scheduler(config::QueueSettings settings, Clock clock, HopLimit limit_of,
            std::uint64_t seed = std::random_device{}());
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  /// Adds or replaces a message (after it was spooled, after an outcome was recorded, or reloaded
  /// after a restart). Cost: O(recipients * log n). A message with nothing pending or deferred is
  /// forgotten, unless it has pending notices (Envelope::pending_notices): then it stays for
  /// take_notice_retries().
  void upsert(const Envelope& envelope);
  void remove(const std::string& message_id);
  /// A reload: decisions from now on use `settings` (retry times, lifetime, delay warnings,
  /// max_deliveries). Times already set (a message's next attempt, an armed warning) stand; a
  /// hop keeps the concurrency it was given when first seen until it is idle and forgotten.
  void set_settings(config::QueueSettings settings);
  std::size_t size() const { return messages_.size(); }

  /// Jobs that are due now, within the overall and per-hop concurrency limits and outside any hop
  /// backoff. Each returned job counts as running until finished() is called for it.
  /// Due: Pending or Deferred with next_attempt <= now. Never a (message, hop) already running.
  /// Within a hop, the oldest message (Envelope::received, then id) first; across hops, round
  /// robin (the hop served least recently first, hops never served by their oldest message), so
  /// a hop with much mail cannot take all of max_deliveries. A hop whose last attempt failed gets
  /// one delivery at a time (the probe) until one succeeds.
  std::vector<Job> take_due();

  /// Outcome of a job. `hop_failed` is true when the whole attempt failed at the connection level
  /// (no reply, TLS failure, 4xx to the banner): the hop then backs off so that no other message
  /// is tried until it recovers: blocked for retry_delay(consecutive failures) with retry_max =
  /// hop_backoff_max; `error` is kept as the hop's last error. Success clears it. Call it before
  /// upsert() of the outcome, so that hop_retry_time() sees the new backoff. A job that is not
  /// running (unknown, or finished twice) is ignored.
  void finished(const Job& job, bool hop_failed, const smtp::Reply& error = {});

  /// When something next needs the engine: the earliest due item, the end of a backoff that mail
  /// waits for, a lifetime or delay-warning time; now when take_due() has work. Work that can
  /// start only after a running job ends (its hop or the overall limit is full) is left out:
  /// finished() is the event to wait for then. Nullopt: nothing waits on a timer.
  std::optional<std::chrono::system_clock::time_point> next_wakeup() const;

  /// Clears the backoff of one hop, or of every hop ("queue retry"): mail waiting on it becomes
  /// startable at once, at the hop's full concurrency.
  void clear_backoff(const std::string& next_hop = {});

  /// For the queue viewer: one hop's state, or nullptr when it has none (no mail, healthy, idle).
  const HopState* hop(const std::string& next_hop) const;
  /// Every hop that has mail, a running job or a failure, sorted by name.
  std::vector<std::pair<std::string, HopState>> hop_states() const;
  /// Every next hop with mail, sorted by name: O(hops), not O(messages), so that a scrape of a large
  /// queue costs nothing.
  std::vector<HopBacklog> backlog() const;
  /// The jobs running now, as (message id, next hop): the queue viewer's "Active" messages.
  const std::set<std::pair<std::string, std::string>>& running_jobs() const { return running_; }

  /// Recipients of messages whose lifetime has run out while they waited (on their hop's backoff,
  /// a full hop or their own retry time); each message once. Recipients in a running job are not
  /// listed: its outcome decides (reschedule() then says the lifetime is over). The engine fails
  /// the listed recipients and bounces them.
  struct Expired {
    std::string message_id;
    std::vector<std::size_t> recipients;
  };
  std::vector<Expired> take_expired();
  /// Messages whose delay-warning time has come (delay_warning enabled, no warning sent yet,
  /// something still waiting); each message once.
  std::vector<std::string> take_delay_warnings();
  /// Messages whose pending notices are to be queued again: retry_min (at least 1 s) after the
  /// upsert() that first showed them pending, each message once; the next upsert() that still
  /// shows some arms the timer again, and one without any disarms it.
  std::vector<std::string> take_notice_retries();

  /// What the envelope should say after a failed attempt for one recipient: its next attempt time
  /// (attempts counted in the recipient), or nullopt when its lifetime has run out (bounce it).
  /// The next attempt is never after received + lifetime: the last try is at the expiry time.
  std::optional<std::chrono::system_clock::time_point> reschedule(const Envelope& envelope, const Recipient& recipient);
  /// The same after a failure of the whole hop: the recipient waits on the hop (its next attempt is
  /// the end of the hop's backoff, capped at the expiry time), not on a timer of its own.
  std::optional<std::chrono::system_clock::time_point> hop_retry_time(const Envelope& envelope,
                                                                      const std::string& next_hop) const;

 private:
  struct Message;
  struct Hop;
  struct Item;
  struct ByDue {
    bool operator()(const Item* a, const Item* b) const;
  };
  struct ByAge {
    bool operator()(const Item* a, const Item* b) const;
  };
  using TimePoint = std::chrono::system_clock::time_point;
  /// Round-robin order of the hops that can start a job now: (last served, oldest message's
  /// received time and id, hop name).
  using EligibleKey = std::tuple<std::uint64_t, TimePoint, std::string, std::string>;

  double random01();
  Hop& hop_for(const std::string& name);
  void forget_if_idle(Hop& hop);
  void index(Item& item, TimePoint now);
  void unindex(Item& item);
  void refresh(Hop& hop, TimePoint now);
  void drop_item(Message& message, std::size_t position);
  void drop_message(const std::string& message_id);
  void disarm(std::set<std::pair<TimePoint, std::string>>& timers, std::optional<TimePoint>& armed,
              const std::string& message_id);
  Job start(Hop& hop, TimePoint now);
  /// Takes the due entries out of `timers` and clears their messages' `armed`: the ids, in time order.
  std::vector<std::string> take_due_timers(std::set<std::pair<TimePoint, std::string>>& timers,
                                           std::optional<TimePoint> Message::*armed);
  std::size_t effective_limit(const Hop& hop) const;
  TimePoint expiry_of(TimePoint received) const;

  config::QueueSettings settings_;
  Clock clock_;
  HopLimit limit_of_;
  std::mt19937_64 random_;
  std::unordered_map<std::string, std::unique_ptr<Message>> messages_;
  std::map<std::string, Hop, std::less<>> hops_;
  std::set<Item*, ByDue> timed_;                         ///< items whose due time is still to come
  std::set<EligibleKey> eligible_;                       ///< outbound hops that can start a job now
  std::set<std::pair<TimePoint, std::string>> blocked_;  ///< hops in backoff that mail waits for
  std::set<std::pair<TimePoint, std::string>> expiries_;
  std::set<std::pair<TimePoint, std::string>> warnings_;
  std::set<std::pair<TimePoint, std::string>> notices_;    ///< when to retry messages' pending notices
  std::set<std::pair<std::string, std::string>> running_;  ///< (message id, next hop)
  std::size_t running_total_ = 0;                          ///< outbound only
  std::uint64_t serve_sequence_ = 0;
};

}  // namespace sluice::queue
