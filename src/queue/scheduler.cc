#include "queue/scheduler.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

namespace sluice::queue {
namespace {

using std::chrono::system_clock;

bool waiting(const Recipient& recipient) {
  return recipient.state == Recipient::State::Pending ||
         recipient.state == Recipient::State::Deferred;
}

// Saturating, so that a lifetime of years (or a corrupt "received") cannot wrap the clock around.
system_clock::time_point add(system_clock::time_point time, std::chrono::seconds delay) {
  using Rep = system_clock::duration::rep;
  constexpr Rep kMax = std::numeric_limits<Rep>::max();
  if (delay <= std::chrono::seconds{0}) return time;
  constexpr auto kMaxSeconds = std::chrono::duration_cast<std::chrono::seconds>(system_clock::duration(kMax));
  if (delay >= kMaxSeconds) return system_clock::time_point::max();
  const Rep step = std::chrono::duration_cast<system_clock::duration>(delay).count();
  if (time.time_since_epoch().count() > kMax - step) return system_clock::time_point::max();
  return time + system_clock::duration(step);
}

}  // namespace

std::chrono::seconds retry_delay(int attempts, const config::QueueSettings& settings, double random01,
                                 double jitter) {
  using std::chrono::seconds;
  const seconds min_delay = std::max(settings.retry_min, seconds{0});
  const seconds max_delay = std::max(settings.retry_max, seconds{0});
  // Doubling step by step instead of shifting: no overflow however large `attempts` gets.
  seconds base = min_delay;
  for (int i = 1; i < attempts && base < max_delay; ++i) base = base > max_delay / 2 ? max_delay : base * 2;
  base = std::min(base, max_delay);

  if (!(random01 >= 0.0)) random01 = 0.0;  // also catches NaN
  if (random01 >= 1.0) random01 = std::nextafter(1.0, 0.0);
  if (!(jitter >= 0.0)) jitter = 0.0;
  jitter = std::min(jitter, 1.0);
  const double factor = 1.0 - jitter + 2.0 * jitter * random01;
  auto scaled = static_cast<seconds::rep>(std::llround(static_cast<double>(base.count()) * factor));
  // Never zero: a retry "now" after a failure would spin against a broken destination.
  return seconds{std::max<seconds::rep>(scaled, 1)};
}

Scheduler::Scheduler(config::QueueSettings settings, Clock clock,
                     std::function<std::string(const std::string&)> next_hop_of, std::size_t max_per_hop,
                     std::uint64_t seed)
    : settings_(settings),
      clock_(std::move(clock)),
      next_hop_of_(std::move(next_hop_of)),
      max_per_hop_(std::max<std::size_t>(max_per_hop, 1)),
      random_(seed) {
  // Zero would stop all delivery for good, which no setting can mean.
  settings_.max_deliveries = std::max<std::size_t>(settings_.max_deliveries, 1);
}

void Scheduler::upsert(const Envelope& envelope) { messages_[envelope.id] = envelope; }

void Scheduler::remove(const std::string& message_id) { messages_.erase(message_id); }

double Scheduler::random01() { return std::uniform_real_distribution<double>(0.0, 1.0)(random_); }

bool Scheduler::hop_blocked(const std::string& hop, system_clock::time_point now) const {
  auto it = hops_.find(hop);
  return it != hops_.end() && it->second.blocked_until > now;
}

std::size_t Scheduler::hop_running(const std::string& hop) const {
  auto it = hops_.find(hop);
  return it == hops_.end() ? 0 : it->second.running;
}

std::vector<const Envelope*> Scheduler::oldest_first() const {
  std::vector<const Envelope*> order;
  order.reserve(messages_.size());
  for (const auto& [id, envelope] : messages_) order.push_back(&envelope);
  // messages_ is sorted by id, so a stable sort keeps ties in id order.
  std::stable_sort(order.begin(), order.end(),
                   [](const Envelope* a, const Envelope* b) { return a->received < b->received; });
  return order;
}

std::vector<Job> Scheduler::take_due() {
  const auto now = clock_();
  // Candidate jobs per hop, each list oldest message first; hops ordered by their oldest job.
  std::vector<std::string> hop_order;
  std::map<std::string, std::deque<Job>> candidates;
  for (const Envelope* envelope : oldest_first()) {
    std::map<std::string, Job> by_hop;  // this message's jobs
    std::vector<std::string> first_seen;
    for (std::size_t i = 0; i < envelope->recipients.size(); ++i) {
      const Recipient& recipient = envelope->recipients[i];
      if (!waiting(recipient) || recipient.next_attempt > now) continue;
      std::string hop = next_hop_of_(recipient.address);
      if (hop == "local" || hop_blocked(hop, now) || running_.count({envelope->id, hop})) continue;
      auto [it, added] = by_hop.try_emplace(hop, Job{envelope->id, hop, {}});
      if (added) first_seen.push_back(hop);
      it->second.recipients.push_back(i);
    }
    for (const auto& hop : first_seen) {
      auto [it, added] = candidates.try_emplace(hop);
      if (added) hop_order.push_back(hop);
      it->second.push_back(std::move(by_hop[hop]));
    }
  }

  // Round robin: each hop gets one job per round, so one busy destination cannot use up
  // max_deliveries while mail for others waits.
  std::vector<Job> jobs;
  bool progress = true;
  while (progress && running_total_ < settings_.max_deliveries) {
    progress = false;
    for (const auto& hop : hop_order) {
      if (running_total_ >= settings_.max_deliveries) break;
      auto& queue = candidates[hop];
      if (queue.empty() || hop_running(hop) >= max_per_hop_) continue;
      Job job = std::move(queue.front());
      queue.pop_front();
      ++hops_[hop].running;
      ++running_total_;
      running_.insert({job.message_id, hop});
      jobs.push_back(std::move(job));
      progress = true;
    }
  }
  return jobs;
}

void Scheduler::finished(const Job& job, bool hop_failed) {
  if (running_.erase({job.message_id, job.next_hop}) == 0) return;  // unknown or finished twice
  --running_total_;
  HopState& hop = hops_[job.next_hop];
  if (hop.running > 0) --hop.running;
  if (hop_failed) {
    ++hop.consecutive_failures;
    config::QueueSettings hop_settings = settings_;
    hop_settings.retry_max = settings_.hop_backoff_max;
    hop.blocked_until = add(clock_(), retry_delay(hop.consecutive_failures, hop_settings, random01()));
  } else {
    hop.consecutive_failures = 0;
    hop.blocked_until = {};
  }
  // A healthy idle hop carries no information; dropping it keeps the map to hops that matter.
  if (hop.running == 0 && hop.consecutive_failures == 0) hops_.erase(job.next_hop);
}

std::optional<system_clock::time_point> Scheduler::next_wakeup() const {
  if (running_total_ >= settings_.max_deliveries) return std::nullopt;  // finished() comes first
  std::optional<system_clock::time_point> earliest;
  for (const auto& [id, envelope] : messages_) {
    for (const auto& recipient : envelope.recipients) {
      if (!waiting(recipient)) continue;
      std::string hop = next_hop_of_(recipient.address);
      if (hop == "local" || running_.count({id, hop}) || hop_running(hop) >= max_per_hop_) continue;
      auto due = recipient.next_attempt;
      if (auto it = hops_.find(hop); it != hops_.end()) due = std::max(due, it->second.blocked_until);
      if (!earliest || due < *earliest) earliest = due;
    }
  }
  if (earliest && *earliest < clock_()) earliest = clock_();
  return earliest;
}

void Scheduler::retry_now(const std::string& next_hop) {
  const auto now = clock_();
  for (auto& [id, envelope] : messages_) {
    for (auto& recipient : envelope.recipients) {
      if (recipient.state != Recipient::State::Deferred) continue;
      if (!next_hop.empty() && next_hop_of_(recipient.address) != next_hop) continue;
      recipient.next_attempt = now;
    }
  }
  for (auto it = hops_.begin(); it != hops_.end();) {
    if (next_hop.empty() || it->first == next_hop) {
      it->second.consecutive_failures = 0;
      it->second.blocked_until = {};
      if (it->second.running == 0) {
        it = hops_.erase(it);
        continue;
      }
    }
    ++it;
  }
}

std::optional<system_clock::time_point> Scheduler::reschedule(const Envelope& envelope,
                                                              const Recipient& recipient) {
  const auto now = clock_();
  const auto expires = add(envelope.received, settings_.lifetime);
  if (now >= expires) return std::nullopt;
  // Capped at the expiry time: the last try happens when the lifetime ends, and the bounce
  // right after it, instead of up to a whole retry_max later.
  return std::min(add(now, retry_delay(recipient.attempts, settings_, random01())), expires);
}

bool Scheduler::needs_delay_warning(const Envelope& envelope) const {
  if (settings_.delay_warning <= std::chrono::seconds{0} || envelope.delay_warning_sent) return false;
  if (clock_() < add(envelope.received, settings_.delay_warning)) return false;
  return std::any_of(envelope.recipients.begin(), envelope.recipients.end(), waiting);
}

}  // namespace sluice::queue
