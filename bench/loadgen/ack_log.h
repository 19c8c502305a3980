// ack_log: the messages a server accepted, one line each, for tests that must know exactly which
// messages were acknowledged (tests/e2e/test_node_loss.py compares it with what was delivered).
#pragma once

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace sluice::bench {

/// One line of the log: "<message-id>\t<ms since the start, 3 decimals>\t<attempt>\t<reply>\n".
/// Control characters in the reply become spaces, so a line is always one line of four fields.
std::string ack_line(std::string_view message_id, double ms, unsigned attempt, std::string_view reply);

/// The --ack-log file. Shared by the client threads.
class AckLog {
 public:
  /// Creates or truncates `path`; throws std::runtime_error naming it when it cannot.
  explicit AckLog(const std::string& path);
  ~AckLog();
  AckLog(const AckLog&) = delete;
  AckLog& operator=(const AckLog&) = delete;

  /// Appends ack_line(...) and flushes it: a reader polling the file sees every acknowledgement
  /// so far as whole lines (a test waits on it while the load runs).
  void record(std::string_view message_id, double ms, unsigned attempt, std::string_view reply);

 private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
};

}  // namespace sluice::bench
