#include "logscan/collector.h"

#include <algorithm>

namespace sluice::logscan {
namespace {

constexpr Millis kHour = 3'600'000;

Millis hour_of(Millis t) { return t >= 0 ? t - t % kHour : t - ((t % kHour) + kHour) % kHour; }

void merge_session(Session& a, const Session& b) {
  a.touch(b.first);
  a.touch(b.last);
  a.messages += b.messages;
  if (a.tls == TlsClass::Plaintext) a.tls = b.tls;
  a.tls_failed |= b.tls_failed;
  a.offered_legacy_only |= b.offered_legacy_only;
  a.connect_failed |= b.connect_failed;
  a.pre_connect = a.pre_connect && b.pre_connect;  // a later part that connected (or failed to) ends it
  if (b.saw_start) a.direction = b.direction;
  a.saw_start |= b.saw_start;
  a.saw_end |= b.saw_end;
}

std::string failure_key(std::string_view signature, Direction d, std::string_view remote) {
  std::string key(signature);
  key += '\x1f';
  key += direction_name(d);
  key += '\x1f';
  key += remote;
  return key;
}

void count_failure(FailureStats& f, bool inserted, std::string_view signature, Direction d, std::string_view remote,
                   Millis time, std::string_view file, std::uint64_t line, std::string_view line_text) {
  if (inserted) {
    f.signature = signature;
    f.direction = d;
    f.remote = remote;
    f.example = {std::string(file), line, std::string(cut_utf8(line_text, 500))};
    f.example_time = time;
  }
  ++f.count;
  if (time != kNoTime) {
    if (f.first == kNoTime || time < f.first) f.first = time;
    if (time > f.last) f.last = time;
  }
}

void add_tracked_time(PeerStats& p, Millis time, bool legacy) {
  if (time == kNoTime) return;
  if (p.first == kNoTime || time < p.first) p.first = time;
  if (time > p.last) p.last = time;
  if (!legacy) return;
  if (p.legacy_first == kNoTime || time < p.legacy_first) p.legacy_first = time;
  if (time > p.legacy_last) p.legacy_last = time;
}

}  // namespace

std::uint32_t Collector::intern(std::string_view text) {
  if (text.empty()) return 0;
  auto it = ids_.find(text);
  if (it != ids_.end()) return it->second;
  auto id = static_cast<std::uint32_t>(strings_.size());
  strings_.emplace_back(text);
  ids_.emplace(strings_.back(), id);
  return id;
}

PeerStats& Collector::peer(Direction d, std::uint32_t connector, std::uint32_t remote) {
  std::uint64_t key = (std::uint64_t{remote} << 32) | (std::uint64_t{connector} << 1) | static_cast<unsigned>(d);
  auto it = peer_index_.find(key);
  if (it != peer_index_.end()) return *it->second;
  auto [pos, inserted] = out_.peers.try_emplace(Aggregate::peer_key(d, text(connector), text(remote)));
  PeerStats& p = pos->second;
  if (inserted) {
    p.direction = d;
    p.connector = text(connector);
    p.remote = text(remote);
  }
  peer_index_.emplace(key, &p);
  return p;
}

void Collector::finish(const Session& s) {
  if (!filters_.empty() && !filters_.accepts(s.first, s.direction, text(s.connector), text(s.remote))) {
    ++out_.filtered_out;
    return;
  }
  TlsClass c = s.outcome();
  auto ci = static_cast<std::size_t>(c);
  ++out_.sessions[ci];
  if (s.first != kNoTime) ++out_.hours[hour_of(s.first)][ci];
  PeerStats& p = peer(s.direction, s.connector, s.remote);
  ++p.sessions[ci];
  p.messages += s.messages;
  if (s.name) p.add_name(text(s.name));
  Millis start = s.first;
  if (start != kNoTime) {
    if (p.first == kNoTime || start < p.first) p.first = start;
    if (start > p.last) p.last = start;
  }
  bool refused = c == TlsClass::Failed && s.offered_legacy_only;
  if (refused) ++p.refused_legacy;
  if (is_legacy(c)) p.legacy_messages += s.messages;
  if ((is_legacy(c) || refused) && start != kNoTime) {
    if (p.legacy_first == kNoTime || start < p.legacy_first) p.legacy_first = start;
    if (start > p.legacy_last) p.legacy_last = start;
  }
}

void Collector::failure(std::string_view signature, Direction d, std::string_view connector, std::string_view remote,
                        Millis time, std::string_view file, std::uint64_t line, std::string_view line_text) {
  if (!filters_.empty() && !filters_.accepts(time, d, connector, remote)) return;
  auto [it, inserted] = out_.failures.try_emplace(failure_key(signature, d, remote));
  count_failure(it->second, inserted, signature, d, remote, time, file, line, line_text);
}

void Collector::tracked_failure(std::string_view signature, Direction d, std::string_view connector,
                                std::string_view remote, Millis time, std::string_view file, std::uint64_t line,
                                std::string_view line_text) {
  if (!filters_.empty() && !filters_.accepts(time, d, connector, remote)) return;
  std::string key = failure_key(signature, d, remote);
  Millis hour = time == kNoTime ? kNoTime : hour_of(time);
  std::string tracked_key = key + '\x1f' + std::string(connector) + '\x1f' + std::to_string(hour);
  auto [it, inserted] = out_.tracked_failures.try_emplace(std::move(tracked_key));
  TrackedFailureHour& t = it->second;
  if (inserted) {
    t.connector = connector;
    t.hour = hour;
    t.key = std::move(key);
  }
  count_failure(t.stats, inserted, signature, d, remote, time, file, line, line_text);
}

void Collector::tracked_message(Direction d, std::string_view connector, std::string_view remote, std::string_view name,
                                Millis time, bool legacy) {
  if (!filters_.empty() && !filters_.accepts(time, d, connector, remote)) {
    ++out_.filtered_out;
    return;
  }
  Millis hour = time == kNoTime ? kNoTime : hour_of(time);
  auto [at, added] = tracked_index_.try_emplace({intern(connector), intern(remote), d, hour}, nullptr);
  if (added) {
    auto [it, inserted] =
        out_.tracked_peers.try_emplace(Aggregate::peer_key(d, connector, remote) + '\x1f' + std::to_string(hour));
    at->second = &it->second;
    if (inserted) {
      it->second.hour = hour;
      it->second.stats.direction = d;
      it->second.stats.connector = connector;
      it->second.stats.remote = remote;
    }
  }
  TrackedPeerHour& t = *at->second;
  ++t.stats.messages;
  if (legacy) ++t.stats.legacy_messages;
  t.stats.add_name(name);
  add_tracked_time(t.stats, time, legacy);
}

void Collector::keep_partial(std::string key, std::uint64_t order, const Session& s) {
  partials_.push_back({std::move(key), order, s, std::string(text(s.connector)), std::string(text(s.remote)),
                       std::string(text(s.name))});
}

void merge_partials(std::vector<PartialSession> parts, Collector& into) {
  std::stable_sort(parts.begin(), parts.end(), [](const PartialSession& a, const PartialSession& b) {
    return std::tie(a.key, a.order) < std::tie(b.key, b.order);
  });
  auto resolve = [&](PartialSession& p) {
    p.session.connector = into.intern(p.connector);
    p.session.remote = into.intern(p.remote);
    p.session.name = into.intern(p.name);
  };
  for (std::size_t i = 0; i < parts.size();) {
    PartialSession& cur = parts[i];
    resolve(cur);
    std::size_t j = i + 1;
    for (; j < parts.size() && parts[j].key == cur.key; ++j) {
      PartialSession& next = parts[j];
      // Not the continuation of `cur`; an attempt still connecting continues in the "+" of the next part.
      if (cur.session.saw_end || (next.session.saw_start && !cur.session.pre_connect)) break;
      resolve(next);
      Session merged = cur.session;
      merge_session(merged, next.session);
      if (!merged.connector) merged.connector = next.session.connector;
      if (!merged.remote) merged.remote = next.session.remote;
      if (!merged.name) merged.name = next.session.name;
      cur.session = merged;
    }
    into.finish(cur.session);
    i = j;
  }
}

}  // namespace sluice::logscan
