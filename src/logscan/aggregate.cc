#include "logscan/aggregate.h"

#include <algorithm>
#include <iterator>
#include <tuple>

namespace sluice::logscan {
namespace {

Millis min_time(Millis a, Millis b) { return a == kNoTime ? b : b == kNoTime ? a : std::min(a, b); }
Millis max_time(Millis a, Millis b) { return std::max(a, b); }  // kNoTime is INT64_MIN

bool example_before(Millis ta, const Example& a, Millis tb, const Example& b) {
  // Unknown times sort last, then by place, so the choice never depends on merge order.
  auto key = [](Millis t, const Example& e) { return std::tuple(t == kNoTime, t, e.file, e.line); };
  return key(ta, a) < key(tb, b);
}

}  // namespace

std::string_view direction_name(Direction d) { return d == Direction::Inbound ? "inbound" : "outbound"; }

std::string_view tls_class_name(TlsClass c) {
  static constexpr std::string_view kNames[] = {"plaintext", "TLS1_0",     "TLS1_1",        "TLS1_2",
                                                "TLS1_3",    "tls_failed", "connect_failed"};
  return kNames[static_cast<std::size_t>(c)];
}

std::string_view cut_utf8(std::string_view text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return text.substr(0, n);
}

std::uint64_t PeerStats::total_sessions() const {
  std::uint64_t n = 0;
  for (auto v : sessions) n += v;
  return n;
}

bool PeerStats::is_legacy_peer() const { return sessions[1] + sessions[2] + refused_legacy + legacy_messages > 0; }

void PeerStats::add_name(std::string_view name) {
  if (name.empty() || names.size() >= kMaxNames) return;
  // Kept sorted, so the report does not depend on which session or worker came first.
  auto at = std::lower_bound(names.begin(), names.end(), name);
  if (at == names.end() || *at != name) names.emplace(at, name);
}

namespace {
/// The union of two sorted node lists, in `into`.
void add_nodes(std::vector<std::string>& into, const std::vector<std::string>& more) {
  if (more.empty()) return;
  std::vector<std::string> both;
  std::set_union(into.begin(), into.end(), more.begin(), more.end(), std::back_inserter(both));
  into = std::move(both);
}
}  // namespace

void PeerStats::merge(const PeerStats& o) {
  for (std::size_t i = 0; i < kTlsClasses; ++i) sessions[i] += o.sessions[i];
  refused_legacy += o.refused_legacy;
  messages += o.messages;
  legacy_messages += o.legacy_messages;
  first = min_time(first, o.first);
  last = max_time(last, o.last);
  legacy_first = min_time(legacy_first, o.legacy_first);
  legacy_last = max_time(legacy_last, o.legacy_last);
  for (const auto& n : o.names) add_name(n);
  add_nodes(nodes, o.nodes);
}

void FailureStats::merge(const FailureStats& o) {
  count += o.count;
  first = min_time(first, o.first);
  last = max_time(last, o.last);
  if (example.file.empty() ||
      (!o.example.file.empty() && example_before(o.example_time, o.example, example_time, example))) {
    example = o.example;
    example_time = o.example_time;
  }
  add_nodes(nodes, o.nodes);
}

void Aggregate::label_node(const std::string& node) {
  for (auto& [key, peer] : peers) peer.nodes = {node};
  for (auto& [key, failure] : failures) failure.nodes = {node};
  for (auto& file : files) file.node = node;
}

std::string Aggregate::peer_key(Direction d, std::string_view connector, std::string_view remote) {
  std::string key(direction_name(d));
  key += '\x1f';
  key += connector;
  key += '\x1f';
  key += remote;
  return key;
}

void Aggregate::merge(Aggregate&& o) {
  for (auto& [k, p] : o.peers) {
    auto [it, inserted] = peers.try_emplace(k, std::move(p));
    if (!inserted) it->second.merge(p);
  }
  for (auto& [k, f] : o.failures) {
    auto [it, inserted] = failures.try_emplace(k, std::move(f));
    if (!inserted) it->second.merge(f);
  }
  for (auto& [h, c] : o.hours) {
    auto& mine = hours[h];
    for (std::size_t i = 0; i < kTlsClasses; ++i) mine[i] += c[i];
  }
  for (auto& [e, n] : o.tracking_events) tracking_events[e] += n;
  for (auto& [k, t] : o.tracked_peers) {
    auto [it, inserted] = tracked_peers.try_emplace(k, std::move(t));
    if (!inserted) it->second.stats.merge(t.stats);
  }
  for (auto& [k, t] : o.tracked_failures) {
    auto [it, inserted] = tracked_failures.try_emplace(k, std::move(t));
    if (!inserted) it->second.stats.merge(t.stats);
  }
  tracked_messages_in_protocol_log += o.tracked_messages_in_protocol_log;
  tracked_failures_in_protocol_log += o.tracked_failures_in_protocol_log;
  for (std::size_t i = 0; i < kTlsClasses; ++i) sessions[i] += o.sessions[i];
  lines += o.lines;
  malformed += o.malformed;
  filtered_out += o.filtered_out;
  for (auto& e : o.malformed_examples) malformed_examples.push_back(std::move(e));
  std::sort(malformed_examples.begin(), malformed_examples.end(),
            [](const Example& a, const Example& b) { return std::tie(a.file, a.line) < std::tie(b.file, b.line); });
  if (malformed_examples.size() > kMaxMalformedExamples) malformed_examples.resize(kMaxMalformedExamples);
  for (auto& f : o.files) files.push_back(std::move(f));
}

void Aggregate::shift_lines(const std::string& file, std::uint64_t offset) {
  if (offset == 0) return;
  for (auto& [k, f] : failures)
    if (f.example.file == file) f.example.line += offset;
  for (auto& [k, t] : tracked_failures)
    if (t.stats.example.file == file) t.stats.example.line += offset;
  for (auto& e : malformed_examples)
    if (e.file == file) e.line += offset;
}

void Aggregate::add_malformed(std::string_view file, std::uint64_t line, std::string_view text) {
  ++malformed;
  if (malformed_examples.size() < kMaxMalformedExamples)
    malformed_examples.push_back({std::string(file), line, std::string(cut_utf8(text, 200))});
}

bool Aggregate::has_findings() const {
  if (!failures.empty()) return true;
  return std::any_of(peers.begin(), peers.end(), [](const auto& p) { return p.second.is_legacy_peer(); });
}

}  // namespace sluice::logscan
