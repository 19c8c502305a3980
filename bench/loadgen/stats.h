// stats: what a run counted (per thread, merged at the end) and the report made from it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::bench {

/// What the server negotiated, as the client saw it (first connection of a thread).
struct TlsInfo {
  std::string version;     ///< "TLSv1.3"; empty without TLS
  std::string cipher;      ///< "TLS_AES_256_GCM_SHA384"
  std::string server_key;  ///< the key type of the server's certificate: "EC-256", "RSA-2048"
};

/// Counters of one thread. Not thread-safe: each io_context thread has its own, merged at the end.
class Stats {
 public:
  std::uint64_t messages_ok = 0;
  std::uint64_t messages_failed = 0;
  std::uint64_t connections = 0;  ///< sessions set up (connect, banner, EHLO, STARTTLS, EHLO)
  std::uint64_t errors = 0;
  std::uint64_t sessions_failed = 0;   ///< sessions that ended in an error (messages or not)
  std::uint64_t messages_retried = 0;  ///< --retry-failed: attempts after the first
  std::int64_t first_failure_ns = -1;  ///< since the start of the run; -1: no failure
  std::int64_t last_failure_ns = -1;
  std::vector<std::int64_t> latencies_ns;  ///< one per accepted message: end-of-data dot to final 250
  std::map<std::string, std::uint64_t> error_texts;
  TlsInfo tls;

  /// Counts an error and keeps its text; beyond 20 distinct texts the rest are counted together,
  /// so a server that puts a queue id in every error does not grow the map without end.
  void record_error(const std::string& text);
  /// Counts a failed session at `at_ns` since the start and widens the failure window to it.
  void record_failed_session(std::int64_t at_ns);
  void merge(Stats&& other);
};

/// Nearest-rank percentile (p in 0..100) of ascending `sorted`; 0 when empty.
std::int64_t percentile(const std::vector<std::int64_t>& sorted, double p);

/// The report of a run.
struct Summary {
  std::string mode = "throughput";  ///< or "idle"
  std::string target;               ///< "127.0.0.1:2525"
  unsigned sessions = 0;
  std::string tls_requested;  ///< "1.3", "1.2", "none"
  std::size_t size = 0;
  unsigned per_connection = 0;
  double elapsed_s = 0;
  std::uint64_t messages_ok = 0, messages_failed = 0, connections = 0, errors = 0;
  /// Failed sessions, and the first and last failure (ms since the start; -1 without one): how
  /// many sessions a lost server cost, and for how long (failure_window_ms = last - first).
  std::uint64_t sessions_failed = 0, messages_retried = 0;
  double first_failure_ms = -1, last_failure_ms = -1, failure_window_ms = 0;
  double messages_per_s = 0, connections_per_s = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
  std::vector<std::pair<std::string, std::uint64_t>> error_texts;  ///< most frequent first
  TlsInfo tls;
  double cpu_user_s = 0, cpu_sys_s = 0;  ///< of this client, to show when it was the bottleneck
  std::uint64_t idle_open = 0, idle_failed = 0;
  double hold_s = 0;
  bool stopped_by_errors = false;
};

/// Fills the counting part of `out` from `stats` (sorting its latencies) over `elapsed_s` seconds.
void summarize(Stats& stats, double elapsed_s, Summary& out);

/// A few aligned lines for people.
std::string format_text(const Summary& s);
/// One JSON object on one line, for scripts.
std::string format_json(const Summary& s);
/// `text` as a JSON string literal, quotes included.
std::string json_string(std::string_view text);

}  // namespace sluice::bench
