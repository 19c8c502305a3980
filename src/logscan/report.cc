#include "logscan/report.h"

#include <algorithm>

#include <fmt/format.h>

namespace sluice::logscan {
namespace {

std::uint64_t legacy_weight(const PeerStats& p) {
  return p.sessions[1] + p.sessions[2] + p.refused_legacy + p.legacy_messages;
}

/// Display width: code points, not bytes, so UTF-8 names line up (wide CJK glyphs count as 2).
std::size_t width(std::string_view s) {
  std::size_t w = 0;
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    w += (len >= 3 && c >= 0xE2) ? 2 : 1;
    i += len;
  }
  return w;
}

std::string pad(std::string_view s, std::size_t w) {
  std::string out(s);
  std::size_t have = width(s);
  if (have < w) out.append(w - have, ' ');
  return out;
}

/// A table with a header row; the last column is not padded.
std::string table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows,
                  const std::vector<bool>& right = {}) {
  std::vector<std::size_t> w(head.size());
  for (std::size_t c = 0; c < head.size(); ++c) w[c] = width(head[c]);
  for (const auto& r : rows)
    for (std::size_t c = 0; c < r.size() && c < w.size(); ++c) w[c] = std::max(w[c], width(r[c]));
  std::string out;
  auto emit = [&](const std::vector<std::string>& r) {
    std::string line;
    for (std::size_t c = 0; c < r.size(); ++c) {
      bool last = c + 1 == r.size();
      if (c < right.size() && right[c]) {
        line.append(w[c] - std::min(w[c], width(r[c])), ' ');
        line += r[c];
      } else {
        line += last ? r[c] : pad(r[c], w[c]);
      }
      if (!last) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += "  " + line + "\n";
  };
  emit(head);
  for (const auto& r : rows) emit(r);
  return out;
}

std::string names_of(const PeerStats& p) {
  std::string out;
  for (const auto& n : p.names) out += (out.empty() ? "" : " ") + n;
  return out.empty() ? "-" : out;
}

/// "mx1 mx2": the nodes that saw a peer or a failure (fleet reports).
std::string nodes_text(const std::vector<std::string>& nodes) {
  std::string out;
  for (const auto& n : nodes) out += (out.empty() ? "" : " ") + n;
  return out.empty() ? "-" : out;
}

std::string time_or_dash(Millis t) { return t == kNoTime ? "-" : format_iso(t); }

/// A findings section's heading with its count, and "none" under it when there is nothing to list.
std::string findings_heading(std::string_view title, std::size_t count) {
  return fmt::format("{}: {}\n{}", title, count, count == 0 ? "  none\n" : "");
}

}  // namespace

Report build_report(const Aggregate& a, ReportOptions options) {
  Report r;
  r.aggregate = &a;
  r.options = std::move(options);
  for (const auto& [k, p] : a.peers) {
    if (p.is_legacy_peer()) r.legacy.push_back(&p);
    if (p.total_sessions() > 0) r.top.push_back(&p);
  }
  std::stable_sort(r.legacy.begin(), r.legacy.end(),
                   [](const PeerStats* x, const PeerStats* y) { return legacy_weight(*x) > legacy_weight(*y); });
  std::stable_sort(r.top.begin(), r.top.end(),
                   [](const PeerStats* x, const PeerStats* y) { return x->total_sessions() > y->total_sessions(); });
  if (r.top.size() > r.options.top) r.top.resize(r.options.top);
  for (const auto& [k, f] : a.failures) r.failures.push_back(&f);
  std::stable_sort(r.failures.begin(), r.failures.end(), [](const FailureStats* x, const FailureStats* y) {
    if (x->signature != y->signature) return x->signature < y->signature;
    return x->count > y->count;
  });
  for (auto v : a.sessions) r.total_sessions += v;

  if (!a.hours.empty()) {
    Millis span = a.hours.rbegin()->first - a.hours.begin()->first;
    r.by_day = r.options.bucket == Bucket::Day || (r.options.bucket == Bucket::Auto && span > 72 * 3'600'000LL);
  }
  for (const auto& [hour, counts] : a.hours) {
    Millis start = r.by_day ? hour - ((hour % 86'400'000 + 86'400'000) % 86'400'000) : hour;
    if (r.timeline.empty() || r.timeline.back().start != start) r.timeline.push_back({start, {}});
    for (std::size_t i = 0; i < kTlsClasses; ++i) r.timeline.back().counts[i] += counts[i];
  }
  r.exit_status = !r.options.errors.empty() ? 2 : a.has_findings() ? 1 : 0;
  return r;
}

std::string render_text(const Report& r) {
  const Aggregate& a = *r.aggregate;
  const bool fleet = !r.options.nodes.empty();
  std::string out;
  if (fleet) out += fmt::format("Nodes ({}): {}\n\n", r.options.nodes.size(), nodes_text(r.options.nodes));
  // First, so that "none" below is not read as an all-clear for inputs that were never read.
  if (!r.options.errors.empty()) {
    out += fmt::format("Inputs not read ({}): the report below covers only the rest\n", r.options.errors.size());
    for (const auto& e : r.options.errors) out += fmt::format("  {}\n", e);
    out += "\n";
  }
  out += findings_heading("Legacy TLS peers (TLS 1.0/1.1)", r.legacy.size());
  if (!r.legacy.empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const PeerStats* p : r.legacy)
      rows.push_back({std::string(direction_name(p->direction)), p->connector.empty() ? "-" : p->connector,
                      p->remote.empty() ? "-" : p->remote, names_of(*p), std::to_string(p->sessions[1]),
                      std::to_string(p->sessions[2]), std::to_string(p->refused_legacy),
                      std::to_string(p->legacy_messages), time_or_dash(p->legacy_first), time_or_dash(p->legacy_last)});
    std::vector<std::string> head{"DIRECTION", "CONNECTOR", "REMOTE",   "EHLO",       "TLS1_0",
                                  "TLS1_1",    "REFUSED",   "MESSAGES", "FIRST SEEN", "LAST SEEN"};
    std::vector<bool> right{false, false, false, false, true, true, true, true, false, false};
    if (fleet) {
      head.emplace_back("NODES");
      right.push_back(false);
      for (std::size_t i = 0; i < rows.size(); ++i) rows[i].push_back(nodes_text(r.legacy[i]->nodes));
    }
    out += table(head, rows, right);
  }

  out += "\n" + findings_heading("TLS failures", r.failures.size());
  if (!r.failures.empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const FailureStats* f : r.failures)
      rows.push_back({f->signature, std::string(direction_name(f->direction)), f->remote.empty() ? "-" : f->remote,
                      std::to_string(f->count), time_or_dash(f->first), time_or_dash(f->last),
                      fmt::format("{}:{}", f->example.file, f->example.line)});
    std::vector<std::string> head{"SIGNATURE", "DIRECTION", "REMOTE", "COUNT", "FIRST", "LAST", "EXAMPLE"};
    std::vector<bool> right{false, false, false, true, false, false, false};
    if (fleet) {
      head.insert(head.begin() + 3, "NODES");
      right.insert(right.begin() + 3, false);
      for (std::size_t i = 0; i < rows.size(); ++i)
        rows[i].insert(rows[i].begin() + 3, nodes_text(r.failures[i]->nodes));
    }
    out += table(head, rows, right);
    out += "  examples:\n";
    for (const FailureStats* f : r.failures)
      out += fmt::format("    {}:{}: {}\n", f->example.file, f->example.line, f->example.text);
  }

  out += fmt::format("\nSummary: {} sessions", r.total_sessions);
  for (std::size_t i = 0; i < kTlsClasses; ++i)
    out += fmt::format("{} {} {}", i == 0 ? ";" : ",", a.sessions[i], tls_class_name(static_cast<TlsClass>(i)));
  out += "\n";
  if (!r.timeline.empty()) {
    out += fmt::format("\nSessions by TLS version per {}:\n", r.by_day ? "day" : "hour");
    std::vector<std::vector<std::string>> rows;
    for (const auto& row : r.timeline) {
      std::vector<std::string> cells{format_bucket(row.start, r.by_day)};
      for (auto c : row.counts) cells.push_back(std::to_string(c));
      rows.push_back(std::move(cells));
    }
    std::vector<std::string> head{r.by_day ? "DAY" : "HOUR (UTC)"};
    for (std::size_t i = 0; i < kTlsClasses; ++i) head.emplace_back(tls_class_name(static_cast<TlsClass>(i)));
    std::vector<bool> right(head.size(), true);
    right[0] = false;
    out += table(head, rows, right);
  }
  if (!r.top.empty()) {
    out += "\nTop peers by sessions:\n";
    std::vector<std::vector<std::string>> rows;
    for (const PeerStats* p : r.top) {
      std::vector<std::string> cells{std::string(direction_name(p->direction)),
                                     p->connector.empty() ? "-" : p->connector, p->remote.empty() ? "-" : p->remote,
                                     std::to_string(p->total_sessions())};
      for (auto c : p->sessions) cells.push_back(std::to_string(c));
      cells.push_back(std::to_string(p->messages));
      if (fleet) cells.push_back(nodes_text(p->nodes));
      rows.push_back(std::move(cells));
    }
    std::vector<std::string> head{"DIRECTION", "CONNECTOR", "REMOTE", "SESSIONS"};
    for (std::size_t i = 0; i < kTlsClasses; ++i) head.emplace_back(tls_class_name(static_cast<TlsClass>(i)));
    head.emplace_back("MESSAGES");
    if (fleet) head.emplace_back("NODES");
    std::vector<bool> right(head.size(), true);
    right[0] = right[1] = right[2] = false;
    if (fleet) right.back() = false;
    out += table(head, rows, right);
  }
  if (!a.tracking_events.empty()) {
    out += "\nMessage tracking events:";
    for (const auto& [e, n] : a.tracking_events) out += fmt::format(" {} {}", e, n);
    out += "\n";
  }
  if (a.tracked_messages_in_protocol_log || a.tracked_failures_in_protocol_log)
    out += fmt::format(
        "Message tracking records also in the protocol logs (counted once, from the protocol logs): {} messages, "
        "{} failures\n",
        a.tracked_messages_in_protocol_log, a.tracked_failures_in_protocol_log);
  out += fmt::format("\nInputs: {} files, {} lines, {} malformed", a.files.size(), a.lines, a.malformed);
  if (a.filtered_out) out += fmt::format(", {} sessions/events filtered out", a.filtered_out);
  out += "\n";
  for (const auto& f : a.files)
    out += fmt::format("  {}{} ({}, {} lines{}{})\n", f.node.empty() ? "" : f.node + ": ", f.path, f.format, f.lines,
                       f.malformed ? fmt::format(", {} malformed", f.malformed) : "",
                       f.error.empty() ? "" : ", error: " + f.error);
  for (const auto& e : a.malformed_examples) out += fmt::format("  malformed {}:{}: {}\n", e.file, e.line, e.text);
  for (const auto& [k, v] : r.options.filters) out += fmt::format("  filter {} {}\n", k, v);
  return out;
}

}  // namespace sluice::logscan
