#include "logscan/tracking_overlap.h"

namespace sluice::logscan {
namespace {

constexpr Millis kTrackedHour = 3'600'000;

/// The hours [first, last] in which the protocol logs have sessions of one direction and connector.
struct Coverage {
  Millis first = kNoTime, last = kNoTime;
};

using CoverageMap = std::map<std::pair<Direction, std::string>, Coverage>;

CoverageMap protocol_log_coverage(const Aggregate& a) {
  CoverageMap out;
  for (const auto& [key, p] : a.peers) {
    if (p.total_sessions() == 0 || p.first == kNoTime) continue;
    Coverage& c = out[{p.direction, p.connector}];
    if (c.first == kNoTime || p.first < c.first) c.first = p.first;
    if (c.last == kNoTime || p.last > c.last) c.last = p.last;
  }
  return out;
}

Millis floor_to_hour(Millis t) {
  return t >= 0 ? t - t % kTrackedHour : t - ((t % kTrackedHour) + kTrackedHour) % kTrackedHour;
}

/// An hour of tracked events is the protocol log's when that log has sessions of the same
/// direction and connector from that hour's start or before, until the hour before it or later
/// (a message may end an hour after its session started).
bool covered(const CoverageMap& coverage, Direction d, const std::string& connector, Millis hour) {
  auto it = coverage.find({d, connector});
  if (it == coverage.end() || hour == kNoTime) return false;
  return floor_to_hour(it->second.first) <= hour && hour <= floor_to_hour(it->second.last) + kTrackedHour;
}

}  // namespace

void fold_tracking(Aggregate& a) {
  const CoverageMap coverage = protocol_log_coverage(a);
  for (auto& [k, t] : a.tracked_peers) {
    if (covered(coverage, t.stats.direction, t.stats.connector, t.hour)) {
      a.tracked_messages_in_protocol_log += t.stats.messages;
      continue;
    }
    auto [it, inserted] =
        a.peers.try_emplace(Aggregate::peer_key(t.stats.direction, t.stats.connector, t.stats.remote), t.stats);
    if (!inserted) it->second.merge(t.stats);
  }
  for (auto& [k, t] : a.tracked_failures) {
    if (covered(coverage, t.stats.direction, t.connector, t.hour)) {
      a.tracked_failures_in_protocol_log += t.stats.count;
      continue;
    }
    auto [it, inserted] = a.failures.try_emplace(t.key, t.stats);
    if (!inserted) it->second.merge(t.stats);
  }
  a.tracked_peers.clear();
  a.tracked_failures.clear();
}

}  // namespace sluice::logscan
