#include "queue/scheduler.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sluice::queue {

using std::chrono::system_clock;
using TimePoint = system_clock::time_point;

namespace {

// Saturating, so that a lifetime of years (or a corrupt "received") cannot wrap the clock around.
TimePoint add(TimePoint time, std::chrono::seconds delay) {
  using Rep = system_clock::duration::rep;
  constexpr Rep kMax = std::numeric_limits<Rep>::max();
  if (delay <= std::chrono::seconds{0}) return time;
  constexpr auto kMaxSeconds = std::chrono::duration_cast<std::chrono::seconds>(system_clock::duration(kMax));
  if (delay >= kMaxSeconds) return TimePoint::max();
  const Rep step = std::chrono::duration_cast<system_clock::duration>(delay).count();
  if (time.time_since_epoch().count() > kMax - step) return TimePoint::max();
  return time + system_clock::duration(step);
}

}  // namespace

std::chrono::seconds retry_delay(int attempts, const config::QueueSettings& settings, double random01, double jitter) {
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

// ---- the pieces ----

/// A message's waiting recipients for one next hop: what one job would deliver.
struct Scheduler::Item {
  enum class Where { Nowhere, Timed, Ready, Running };
  Message* message = nullptr;
  Hop* hop = nullptr;
  std::vector<std::pair<std::size_t, TimePoint>> recipients;  ///< (index, next_attempt)
  TimePoint due{};
  Where where = Where::Nowhere;
};

struct Scheduler::Message {
  std::string id;
  TimePoint received{};
  std::vector<std::unique_ptr<Item>> items;  ///< one per next hop
  std::optional<TimePoint> expiry_armed;     ///< its entry in expiries_
  std::optional<TimePoint> warning_armed;    ///< its entry in warnings_
  std::optional<TimePoint> notices_armed;    ///< its entry in notices_: retry its pending notices
  bool expired = false;                      ///< take_expired() listed it
  bool expire_after_running = false;         ///< ... while a job ran: list the rest when it ends
  bool warned = false;                       ///< take_delay_warnings() listed it
};

struct Scheduler::Hop : HopState {
  std::string name;
  std::set<Item*, ByAge> queue;   ///< its items that are due, oldest message first
  std::size_t items = 0;          ///< its items anywhere (timed, ready, running)
  std::set<Item*, ByAge> by_age;  ///< the same items, oldest message first (for backlog())
  std::uint64_t last_served = 0;
  std::optional<EligibleKey> eligible;  ///< its entry in eligible_
  std::optional<TimePoint> blocked;     ///< its entry in blocked_
};

bool Scheduler::ByDue::operator()(const Item* a, const Item* b) const {
  return std::tie(a->due, a->message->received, a->message->id, a->hop->name) <
         std::tie(b->due, b->message->received, b->message->id, b->hop->name);
}

bool Scheduler::ByAge::operator()(const Item* a, const Item* b) const {
  return std::tie(a->message->received, a->message->id) < std::tie(b->message->received, b->message->id);
}

Scheduler::Scheduler(config::QueueSettings settings, Clock clock, HopLimit limit_of, std::uint64_t seed)
    : settings_(settings), clock_(std::move(clock)), limit_of_(std::move(limit_of)), random_(seed) {
  // Zero would stop all delivery for good, which no setting can mean.
  settings_.max_deliveries = std::max<std::size_t>(settings_.max_deliveries, 1);
}

Scheduler::~Scheduler() = default;

double Scheduler::random01() { return std::uniform_real_distribution<double>(0.0, 1.0)(random_); }

void Scheduler::set_settings(config::QueueSettings settings) {
  settings_ = settings;
  settings_.max_deliveries = std::max<std::size_t>(settings_.max_deliveries, 1);
}

TimePoint Scheduler::expiry_of(TimePoint received) const { return add(received, settings_.lifetime); }

Scheduler::Hop& Scheduler::hop_for(const std::string& name) {
  auto it = hops_.find(name);
  if (it != hops_.end()) return it->second;
  Hop& hop = hops_[name];
  hop.name = name;
  hop.limit = std::max<std::size_t>(limit_of_ ? limit_of_(name) : 1, 1);
  return hop;
}

// A healthy idle hop without mail carries no information; dropping it keeps the map to hops
// that matter.
void Scheduler::forget_if_idle(Hop& hop) {
  if (hop.items == 0 && hop.running == 0 && hop.consecutive_failures == 0 && !hop.eligible && !hop.blocked)
    hops_.erase(hop.name);
}

std::size_t Scheduler::effective_limit(const Hop& hop) const {
  // A hop that failed gets one probe at a time: the rest of its mail waits for the answer.
  return hop.consecutive_failures > 0 ? 1 : hop.limit;
}

/// Files an item where its due time says: the hop's queue (due) or the timer set.
void Scheduler::index(Item& item, TimePoint now) {
  if (item.where == Item::Where::Running) return;
  item.due = TimePoint::max();
  for (const auto& [index, next] : item.recipients) item.due = std::min(item.due, next);
  if (item.due <= now) {
    item.hop->queue.insert(&item);
    item.where = Item::Where::Ready;
    refresh(*item.hop, now);
  } else {
    timed_.insert(&item);
    item.where = Item::Where::Timed;
  }
}

void Scheduler::unindex(Item& item) {
  if (item.where == Item::Where::Timed) {
    timed_.erase(&item);
  } else if (item.where == Item::Where::Ready) {
    item.hop->queue.erase(&item);
    refresh(*item.hop, clock_());
  }
  if (item.where != Item::Where::Running) item.where = Item::Where::Nowhere;
}

/// Puts a hop in the structure its state calls for: startable now (eligible_), waiting for its
/// backoff with mail due (blocked_), or neither.
void Scheduler::refresh(Hop& hop, TimePoint now) {
  hop.ready = hop.queue.size();
  if (hop.eligible) {
    eligible_.erase(*hop.eligible);
    hop.eligible.reset();
  }
  if (hop.blocked) {
    blocked_.erase({*hop.blocked, hop.name});
    hop.blocked.reset();
  }
  if (hop.queue.empty()) return;
  if (hop.blocked_until > now) {
    hop.blocked = hop.blocked_until;
    blocked_.insert({hop.blocked_until, hop.name});
    return;
  }
  if (hop.running >= effective_limit(hop) || hop.name == kLocalHop) return;  // local: take_due asks it first
  const Item* oldest = *hop.queue.begin();
  hop.eligible = EligibleKey{hop.last_served, oldest->message->received, oldest->message->id, hop.name};
  eligible_.insert(*hop.eligible);
}

void Scheduler::drop_item(Message& message, std::size_t position) {
  Item& item = *message.items[position];
  unindex(item);
  Hop& hop = *item.hop;
  --hop.items;
  hop.by_age.erase(&item);
  message.items.erase(message.items.begin() + static_cast<std::ptrdiff_t>(position));
  forget_if_idle(hop);
}

void Scheduler::disarm(std::set<std::pair<TimePoint, std::string>>& timers, std::optional<TimePoint>& armed,
                       const std::string& message_id) {
  if (armed) timers.erase({*armed, message_id});
  armed.reset();
}

void Scheduler::drop_message(const std::string& message_id) {
  auto it = messages_.find(message_id);
  if (it == messages_.end()) return;
  Message& message = *it->second;
  while (!message.items.empty()) drop_item(message, message.items.size() - 1);
  disarm(expiries_, message.expiry_armed, message.id);
  disarm(warnings_, message.warning_armed, message.id);
  disarm(notices_, message.notices_armed, message.id);
  messages_.erase(it);
}

// ---- the queue ----

void Scheduler::upsert(const Envelope& envelope) {
  const auto now = clock_();
  // The recipients that wait, by next hop, in the order of their first recipient.
  std::vector<std::pair<std::string, std::vector<std::pair<std::size_t, TimePoint>>>> groups;
  for (std::size_t i = 0; i < envelope.recipients.size(); ++i) {
    const Recipient& r = envelope.recipients[i];
    if (!r.waiting()) continue;
    std::string hop = recipient_hop(r);
    auto group = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == hop; });
    if (group == groups.end())
      group = groups.emplace(groups.end(), std::move(hop), std::vector<std::pair<std::size_t, TimePoint>>{});
    group->second.emplace_back(i, r.next_attempt);
  }
  // A message that still owes its sender a notice stays, without items, for its notice timer.
  if (groups.empty() && envelope.pending_notices.empty()) {
    drop_message(envelope.id);
    return;
  }

  auto& slot = messages_[envelope.id];
  if (!slot) {
    slot = std::make_unique<Message>();
    slot->id = envelope.id;
  }
  Message& message = *slot;
  if (message.received != envelope.received) {
    // The received time orders every index the items are in: take them out before it changes.
    for (auto& item : message.items) {
      unindex(*item);
      item->hop->by_age.erase(item.get());
    }
    message.received = envelope.received;
    for (auto& item : message.items) item->hop->by_age.insert(item.get());
    disarm(expiries_, message.expiry_armed, message.id);
    disarm(warnings_, message.warning_armed, message.id);
    message.expired = message.warned = false;
  }
  for (std::size_t i = message.items.size(); i-- > 0;) {
    const std::string& name = message.items[i]->hop->name;
    if (std::none_of(groups.begin(), groups.end(), [&](const auto& g) { return g.first == name; }))
      drop_item(message, i);
  }
  for (auto& [name, recipients] : groups) {
    // clang 14 (clang-tidy) cannot capture a structured binding: capture a reference instead.
    auto found = std::find_if(message.items.begin(), message.items.end(),
                              [&hop = name](const auto& item) { return item->hop->name == hop; });
    Item* item = nullptr;
    if (found != message.items.end()) {
      item = found->get();
      unindex(*item);
    } else {
      auto fresh = std::make_unique<Item>();
      fresh->message = &message;
      fresh->hop = &hop_for(name);
      ++fresh->hop->items;
      fresh->hop->by_age.insert(fresh.get());
      // Its (message, hop) may still be running from before the message was last forgotten:
      // finished() files it then.
      if (running_.count({message.id, name})) fresh->where = Item::Where::Running;
      item = fresh.get();
      message.items.push_back(std::move(fresh));
    }
    item->recipients = std::move(recipients);
    index(*item, now);
  }

  if (envelope.pending_notices.empty()) {
    disarm(notices_, message.notices_armed, message.id);
  } else if (!message.notices_armed) {
    // The spool could not take them (full, read-only): look again after retry_min.
    message.notices_armed = add(now, std::max(settings_.retry_min, std::chrono::seconds{1}));
    notices_.insert({*message.notices_armed, message.id});
  }
  if (groups.empty()) {
    disarm(expiries_, message.expiry_armed, message.id);
    disarm(warnings_, message.warning_armed, message.id);
    return;
  }
  if (!message.expiry_armed && !message.expired) {
    message.expiry_armed = expiry_of(message.received);
    expiries_.insert({*message.expiry_armed, message.id});
  }
  if (envelope.delay_warning_sent) {
    disarm(warnings_, message.warning_armed, message.id);
    message.warned = true;
  } else if (settings_.delay_warning > std::chrono::seconds{0} && !message.warning_armed && !message.warned) {
    message.warning_armed = add(message.received, settings_.delay_warning);
    warnings_.insert({*message.warning_armed, message.id});
  }
}

void Scheduler::remove(const std::string& message_id) { drop_message(message_id); }

Job Scheduler::start(Hop& hop, TimePoint now) {
  Item& item = **hop.queue.begin();
  hop.queue.erase(hop.queue.begin());
  item.where = Item::Where::Running;
  Job job{item.message->id, hop.name, {}};
  for (const auto& [index, next] : item.recipients)
    if (next <= now) job.recipients.push_back(index);
  ++hop.running;
  if (hop.name != kLocalHop) ++running_total_;
  running_.insert({job.message_id, hop.name});
  hop.last_served = ++serve_sequence_;
  refresh(hop, now);
  return job;
}

std::vector<Job> Scheduler::take_due() {
  const auto now = clock_();
  // What became due, and the hops whose backoff ended.
  while (!timed_.empty() && (*timed_.begin())->due <= now) {
    Item& item = **timed_.begin();
    timed_.erase(timed_.begin());
    item.where = Item::Where::Ready;
    item.hop->queue.insert(&item);
    refresh(*item.hop, now);
  }
  while (!blocked_.empty() && blocked_.begin()->first <= now) {
    const auto entry = *blocked_.begin();
    if (auto it = hops_.find(entry.second); it != hops_.end()) refresh(it->second, now);
    // refresh() takes the hop out; an entry it does not know of must not stop this loop.
    if (!blocked_.empty() && *blocked_.begin() == entry) blocked_.erase(blocked_.begin());
  }

  std::vector<Job> jobs;
  if (auto local = hops_.find(kLocalHop); local != hops_.end()) {
    Hop& hop = local->second;
    while (!hop.queue.empty() && hop.running < hop.limit && hop.blocked_until <= now) jobs.push_back(start(hop, now));
  }
  while (running_total_ < settings_.max_deliveries && !eligible_.empty()) {
    jobs.push_back(start(hops_.find(std::get<3>(*eligible_.begin()))->second, now));
  }
  return jobs;
}

void Scheduler::finished(const Job& job, bool hop_failed, const smtp::Reply& error) {
  if (running_.erase({job.message_id, job.next_hop}) == 0) return;  // unknown or finished twice
  const auto now = clock_();
  Hop& hop = hop_for(job.next_hop);
  if (hop.running > 0) --hop.running;
  if (job.next_hop != kLocalHop && running_total_ > 0) --running_total_;
  if (hop_failed) {
    ++hop.consecutive_failures;
    config::QueueSettings hop_settings = settings_;
    hop_settings.retry_max = settings_.hop_backoff_max;
    hop.blocked_until = add(now, retry_delay(hop.consecutive_failures, hop_settings, random01()));
    if (!error.empty()) hop.last_error = error;
  } else {
    hop.consecutive_failures = 0;
    hop.blocked_until = {};
    hop.last_error = {};
  }

  if (auto it = messages_.find(job.message_id); it != messages_.end()) {
    Message& message = *it->second;
    for (auto& item : message.items) {
      if (item->hop != &hop || item->where != Item::Where::Running) continue;
      item->where = Item::Where::Nowhere;
      index(*item, now);
    }
    // Its lifetime ended while this job ran: what is left of it is listed at the next look.
    if (message.expire_after_running && std::none_of(message.items.begin(), message.items.end(), [](const auto& item) {
          return item->where == Item::Where::Running;
        })) {
      message.expire_after_running = false;
      message.expired = false;
      disarm(expiries_, message.expiry_armed, message.id);
      message.expiry_armed = now;
      expiries_.insert({now, message.id});
    }
  }
  refresh(hop, now);
  forget_if_idle(hop);
}

std::optional<TimePoint> Scheduler::next_wakeup() const {
  const auto now = clock_();
  std::optional<TimePoint> earliest;
  auto consider = [&](TimePoint t) {
    if (!earliest || t < *earliest) earliest = t;
  };
  if (!expiries_.empty()) consider(expiries_.begin()->first);
  if (!warnings_.empty()) consider(warnings_.begin()->first);
  if (!notices_.empty()) consider(notices_.begin()->first);
  if (auto local = hops_.find(kLocalHop); local != hops_.end()) {
    const Hop& hop = local->second;
    if (!hop.queue.empty() && hop.running < hop.limit) consider(std::max(now, hop.blocked_until));
  }
  // Outbound work needs a free slot; without one, finished() comes first.
  if (running_total_ < settings_.max_deliveries) {
    if (!eligible_.empty()) consider(now);
    if (!blocked_.empty()) consider(blocked_.begin()->first);
  }
  // An item coming due needs a slot of its hop (local has its own), so it is always a reason to look.
  if (!timed_.empty()) consider((*timed_.begin())->due);
  if (earliest && *earliest < now) earliest = now;
  return earliest;
}

void Scheduler::clear_backoff(const std::string& next_hop) {
  const auto now = clock_();
  auto clear = [&](Hop& hop) {
    hop.consecutive_failures = 0;
    hop.blocked_until = {};
    refresh(hop, now);
  };
  if (!next_hop.empty()) {
    if (auto it = hops_.find(next_hop); it != hops_.end()) {
      clear(it->second);
      forget_if_idle(it->second);
    }
    return;
  }
  for (auto it = hops_.begin(); it != hops_.end();) {
    Hop& hop = (it++)->second;  // forget_if_idle may erase it
    clear(hop);
    forget_if_idle(hop);
  }
}

const HopState* Scheduler::hop(const std::string& next_hop) const {
  auto it = hops_.find(next_hop);
  return it == hops_.end() ? nullptr : &it->second;
}

std::vector<std::pair<std::string, HopState>> Scheduler::hop_states() const {
  std::vector<std::pair<std::string, HopState>> out;
  out.reserve(hops_.size());
  for (const auto& [name, hop] : hops_) out.emplace_back(name, static_cast<const HopState&>(hop));
  return out;
}

std::vector<HopBacklog> Scheduler::backlog() const {
  std::vector<HopBacklog> out;
  for (const auto& [name, hop] : hops_)
    if (!hop.by_age.empty()) out.push_back({name, hop.by_age.size(), (*hop.by_age.begin())->message->received});
  return out;
}

std::vector<Scheduler::Expired> Scheduler::take_expired() {
  const auto now = clock_();
  std::vector<Expired> out;
  while (!expiries_.empty() && expiries_.begin()->first <= now) {
    std::string id = expiries_.begin()->second;
    expiries_.erase(expiries_.begin());
    auto it = messages_.find(id);
    if (it == messages_.end()) continue;
    Message& message = *it->second;
    message.expiry_armed.reset();
    message.expired = true;
    Expired expired{id, {}};
    for (const auto& item : message.items) {
      if (item->where == Item::Where::Running) {
        message.expire_after_running = true;
        continue;
      }
      for (const auto& [index, next] : item->recipients) expired.recipients.push_back(index);
    }
    std::sort(expired.recipients.begin(), expired.recipients.end());
    if (!expired.recipients.empty()) out.push_back(std::move(expired));
  }
  return out;
}

std::vector<std::string> Scheduler::take_due_timers(std::set<std::pair<TimePoint, std::string>>& timers,
                                                    std::optional<TimePoint> Message::*armed) {
  const auto now = clock_();
  std::vector<std::string> out;
  while (!timers.empty() && timers.begin()->first <= now) {
    std::string id = timers.begin()->second;
    timers.erase(timers.begin());
    auto it = messages_.find(id);
    if (it == messages_.end()) continue;
    ((*it->second).*armed).reset();
    out.push_back(std::move(id));
  }
  return out;
}

std::vector<std::string> Scheduler::take_delay_warnings() {
  auto ids = take_due_timers(warnings_, &Message::warning_armed);
  for (const auto& id : ids) messages_.at(id)->warned = true;
  return ids;
}

// upsert() arms the timer again while notices stay pending.
std::vector<std::string> Scheduler::take_notice_retries() { return take_due_timers(notices_, &Message::notices_armed); }

std::optional<TimePoint> Scheduler::reschedule(const Envelope& envelope, const Recipient& recipient) {
  const auto now = clock_();
  const auto expires = expiry_of(envelope.received);
  if (now >= expires) return std::nullopt;
  // Capped at the expiry time: the last try happens when the lifetime ends, and the bounce
  // right after it, instead of up to a whole retry_max later.
  return std::min(add(now, retry_delay(recipient.attempts, settings_, random01())), expires);
}

std::optional<TimePoint> Scheduler::hop_retry_time(const Envelope& envelope, const std::string& next_hop) const {
  const auto now = clock_();
  const auto expires = expiry_of(envelope.received);
  if (now >= expires) return std::nullopt;
  const HopState* state = hop(next_hop);
  const TimePoint until = state && state->blocked_until > now ? state->blocked_until : now;
  return std::min(until, expires);
}

}  // namespace sluice::queue
