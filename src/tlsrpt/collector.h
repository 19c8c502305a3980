// The TLS-RPT counts (RFC 8460 4): every outbound session's TLS outcome under its policy, added
// up per reporting period (one UTC day by default) and kept in the state directory so that a
// restart loses at most the sessions since the last flush (docs/outbound.md, "TLS-RPT").
#pragma once
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "tlsrpt/report.h"

namespace sluice::tlsrpt {

/// One SMTP session's TLS outcome.
struct Session {
  std::chrono::system_clock::time_point when;
  Policy policy;
  std::string result_type;  ///< an RFC 8460 4.3 result type; empty: TLS succeeded
  std::string sending_mta_ip, receiving_ip, receiving_mx_hostname, additional_information;
};

/// A reporting period's counts, per policy.
struct Period {
  std::chrono::system_clock::time_point start, end;  ///< [start, end)
  std::vector<PolicyResult> policies;
};

/// Adds `session` to `policies` (a new entry for a policy not seen yet; failures of the same kind
/// share their failure-details entry).
void add_session(std::vector<PolicyResult>& policies, const Session& session);

/// Thread-safe: sessions are recorded on the network thread, flushes and reports run elsewhere.
class Collector {
 public:
  /// Periods of `period` length aligned to the Unix epoch (1 day: UTC midnight to midnight).
  /// Reads the periods a previous run left in `dir` (files <start>.json); a file that cannot be
  /// read is logged and left for inspection. Creates `dir` when needed (throws if it cannot).
  Collector(std::filesystem::path dir, std::chrono::seconds period);

  /// Memory only (cheap, never blocks on the disk).
  void record(const Session& session);
  /// Writes each period changed since the last flush to its file (atomically). Blocking.
  Result<void> flush();
  /// Takes out of memory the periods that ended at or before `now`; their files stay until
  /// finished() (a crash before the reports went out sends them after the restart).
  std::vector<Period> take_ended(std::chrono::system_clock::time_point now);
  /// The period's reports went out (or were dropped): its file is removed.
  void finished(const Period& period);

  std::chrono::system_clock::time_point period_start(std::chrono::system_clock::time_point t) const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  void load();
  std::filesystem::path file_of(std::chrono::system_clock::time_point start) const;

  std::filesystem::path dir_;
  std::chrono::seconds period_;
  std::mutex mutex_;
  std::map<std::chrono::system_clock::time_point, Period> periods_;
  std::set<std::chrono::system_clock::time_point> dirty_;
  std::mutex flush_mutex_;  ///< one flush at a time: two writers of one file would race
};

}  // namespace sluice::tlsrpt
