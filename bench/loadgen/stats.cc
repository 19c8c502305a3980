#include "stats.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace sluice::bench {
namespace {

constexpr std::size_t kMaxErrorTexts = 20;
constexpr const char* kOtherErrors = "(further distinct errors)";

double ms(std::int64_t ns) { return static_cast<double>(ns) / 1e6; }

}  // namespace

void Stats::record_error(const std::string& text) {
  ++errors;
  auto it = error_texts.find(text);
  if (it != error_texts.end()) {
    ++it->second;
  } else if (error_texts.size() < kMaxErrorTexts) {
    error_texts.emplace(text, 1);
  } else {
    ++error_texts[kOtherErrors];
  }
}

void Stats::record_failed_session(std::int64_t at_ns) {
  ++sessions_failed;
  if (first_failure_ns < 0 || at_ns < first_failure_ns) first_failure_ns = at_ns;
  last_failure_ns = std::max(last_failure_ns, at_ns);
}

void Stats::merge(Stats&& other) {
  messages_ok += other.messages_ok;
  messages_failed += other.messages_failed;
  connections += other.connections;
  errors += other.errors;
  messages_retried += other.messages_retried;
  if (other.sessions_failed) {
    sessions_failed += other.sessions_failed;
    if (first_failure_ns < 0 || other.first_failure_ns < first_failure_ns) first_failure_ns = other.first_failure_ns;
    last_failure_ns = std::max(last_failure_ns, other.last_failure_ns);
  }
  latencies_ns.insert(latencies_ns.end(), other.latencies_ns.begin(), other.latencies_ns.end());
  for (auto& [text, n] : other.error_texts) {
    if (error_texts.count(text) || error_texts.size() < kMaxErrorTexts)
      error_texts[text] += n;
    else
      error_texts[kOtherErrors] += n;
  }
  if (tls.version.empty()) tls = std::move(other.tls);
}

std::int64_t percentile(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  // Nearest rank: the smallest value with at least p% of the values at or below it.
  double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()));
  std::size_t idx = rank < 1 ? 0 : static_cast<std::size_t>(rank) - 1;
  return sorted[std::min(idx, sorted.size() - 1)];
}

void summarize(Stats& stats, double elapsed_s, Summary& out) {
  std::sort(stats.latencies_ns.begin(), stats.latencies_ns.end());
  const auto& l = stats.latencies_ns;
  out.elapsed_s = elapsed_s;
  out.messages_ok = stats.messages_ok;
  out.messages_failed = stats.messages_failed;
  out.connections = stats.connections;
  out.errors = stats.errors;
  out.sessions_failed = stats.sessions_failed;
  out.messages_retried = stats.messages_retried;
  out.first_failure_ms = stats.sessions_failed ? ms(stats.first_failure_ns) : -1;
  out.last_failure_ms = stats.sessions_failed ? ms(stats.last_failure_ns) : -1;
  out.failure_window_ms = stats.sessions_failed ? ms(stats.last_failure_ns - stats.first_failure_ns) : 0;
  out.messages_per_s = elapsed_s > 0 ? static_cast<double>(stats.messages_ok) / elapsed_s : 0;
  out.connections_per_s = elapsed_s > 0 ? static_cast<double>(stats.connections) / elapsed_s : 0;
  out.p50_ms = ms(percentile(l, 50));
  out.p90_ms = ms(percentile(l, 90));
  out.p99_ms = ms(percentile(l, 99));
  out.max_ms = l.empty() ? 0 : ms(l.back());
  out.error_texts.assign(stats.error_texts.begin(), stats.error_texts.end());
  std::stable_sort(out.error_texts.begin(), out.error_texts.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  out.tls = stats.tls;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        // Other control characters and non-ASCII octets (a reply is not promised to be UTF-8) as \u00XX.
        if (c < 0x20 || c >= 0x7f)
          out += fmt::format("\\u{:04x}", c);
        else
          out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string format_text(const Summary& s) {
  std::string out;
  if (s.mode == "idle") {
    out += fmt::format("idle          {} sessions open, {} failed, held {:.1f} s ({}, TLS {})\n", s.idle_open,
                       s.idle_failed, s.hold_s, s.target, s.tls_requested);
  } else {
    out += fmt::format("target        {}, {} sessions, TLS {}, {} octets, {} per connection, {:.2f} s\n", s.target,
                       s.sessions, s.tls_requested, s.size,
                       s.per_connection ? std::to_string(s.per_connection) : std::string("all"), s.elapsed_s);
    out += fmt::format("messages      {} accepted, {} failed ({:.1f}/s)\n", s.messages_ok, s.messages_failed,
                       s.messages_per_s);
    out += fmt::format("connections   {} ({:.1f}/s)\n", s.connections, s.connections_per_s);
    if (s.sessions_failed)
      out += fmt::format(
          "failures      {} sessions failed from {:.0f} ms to {:.0f} ms (window {:.0f} ms), {} retries\n",
          s.sessions_failed, s.first_failure_ms, s.last_failure_ms, s.failure_window_ms, s.messages_retried);
    out += fmt::format("latency 250   p50 {:.2f} ms  p90 {:.2f} ms  p99 {:.2f} ms  max {:.2f} ms\n", s.p50_ms, s.p90_ms,
                       s.p99_ms, s.max_ms);
  }
  if (!s.tls.version.empty())
    out += fmt::format("tls           {} {}, server key {}\n", s.tls.version, s.tls.cipher, s.tls.server_key);
  out += fmt::format("client cpu    user {:.2f} s, sys {:.2f} s\n", s.cpu_user_s, s.cpu_sys_s);
  out += fmt::format("errors        {}{}\n", s.errors, s.stopped_by_errors ? " (stopped: --max-errors reached)" : "");
  for (const auto& [text, n] : s.error_texts) out += fmt::format("  {:>8}x  {}\n", n, text);
  return out;
}

std::string format_json(const Summary& s) {
  std::string errors = "[";
  for (const auto& [text, n] : s.error_texts) {
    if (errors.size() > 1) errors += ",";
    errors += fmt::format("{{\"count\":{},\"text\":{}}}", n, json_string(text));
  }
  errors += "]";
  return fmt::format(
      "{{\"mode\":{},\"target\":{},\"sessions\":{},\"tls\":{},\"size\":{},\"per_connection\":{},"
      "\"elapsed_s\":{:.3f},\"messages_ok\":{},\"messages_failed\":{},\"messages_per_s\":{:.2f},"
      "\"connections\":{},\"connections_per_s\":{:.2f},"
      "\"sessions_failed\":{},\"messages_retried\":{},\"first_failure_ms\":{:.3f},\"last_failure_ms\":{:.3f},"
      "\"failure_window_ms\":{:.3f},"
      "\"latency_ms\":{{\"p50\":{:.3f},\"p90\":{:.3f},\"p99\":{:.3f},\"max\":{:.3f}}},"
      "\"tls_version\":{},\"tls_cipher\":{},\"server_key\":{},"
      "\"idle_open\":{},\"idle_failed\":{},\"hold_s\":{:.1f},"
      "\"cpu_user_s\":{:.3f},\"cpu_sys_s\":{:.3f},\"errors\":{},\"stopped_by_errors\":{},\"error_texts\":{}}}",
      json_string(s.mode), json_string(s.target), s.sessions, json_string(s.tls_requested), s.size, s.per_connection,
      s.elapsed_s, s.messages_ok, s.messages_failed, s.messages_per_s, s.connections, s.connections_per_s,
      s.sessions_failed, s.messages_retried, s.first_failure_ms, s.last_failure_ms, s.failure_window_ms, s.p50_ms,
      s.p90_ms, s.p99_ms, s.max_ms, json_string(s.tls.version), json_string(s.tls.cipher),
      json_string(s.tls.server_key), s.idle_open, s.idle_failed, s.hold_s, s.cpu_user_s, s.cpu_sys_s, s.errors,
      s.stopped_by_errors ? "true" : "false", errors);
}

}  // namespace sluice::bench
