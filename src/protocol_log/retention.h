// How long the rolled log files are kept (docs/protocol-log.md, Retention): Exchange's MaxAge and
// MaxDirectorySize, applied alike to the protocol logs (RECV*, SEND*) and the message tracking log
// (MSGTRK*). One routine decides what goes (remove_expired_files); a janitor thread runs it when a
// writer starts a new file and hourly, so a large directory never holds up the network thread.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sluice::protocol_log {

class Writer;

/// Exchange's defaults: 30 days, 250 MB per protocol log directory (1000 MB for message tracking).
struct RetentionLimits {
  std::chrono::seconds max_age{30 * 24 * 3600};      ///< 0: no limit (files are not removed for their age)
  std::uint64_t max_directory_bytes = 250ull << 20;  ///< 0: no limit
};

/// What one pass removed from one directory, and why.
struct RetentionReport {
  std::size_t removed_for_age = 0;   ///< last written longer than max_age ago
  std::size_t removed_for_size = 0;  ///< the oldest files, until the directory fits max_directory_bytes
  std::uint64_t bytes_removed = 0;
  std::uint64_t bytes_kept = 0;       ///< what the log's files in the directory hold afterwards
  std::vector<std::string> failures;  ///< "cannot remove <file>: <reason>"
  std::size_t removed() const { return removed_for_age + removed_for_size; }
};

/// True for "<prefix><yyyymmddhh>-<n>.LOG" (prefix "RECV", "SEND", "MSGTRK"): the only files
/// retention ever removes; anything else in the directory is left alone.
bool is_log_file_name(std::string_view name, std::string_view prefix);

/// Removes the log's files in `dir` that are older than `limits.max_age` at `now` (by their last
/// write), then the oldest (by the hour and number in their names) while the log's files hold
/// more than `limits.max_directory_bytes`. Never removes `keep` (the file being written) nor the
/// newest file of the directory. The files are listed before `keep` is asked for (`keep` is a
/// function for that reason): a file the writer opens meanwhile is newer than every file listed.
/// `unlink_call` replaces unlink(2) (tests make it fail; empty: ::unlink).
RetentionReport remove_expired_files(const std::filesystem::path& dir, std::string_view prefix,
                                     const RetentionLimits& limits, std::chrono::system_clock::time_point now,
                                     const std::function<std::filesystem::path()>& keep,
                                     const std::function<int(const char*)>& unlink_call = {});

/// Runs remove_expired_files for each watched writer on its own thread: at start, whenever a
/// writer starts a new file, and every `interval`. Logs one line per pass that removed something
/// (how many files and bytes, for age and for size) and a warning per file it could not remove.
class RetentionJanitor {
 public:
  struct Options {
    std::chrono::steady_clock::duration interval = std::chrono::hours(1);
    std::function<std::chrono::system_clock::time_point()> clock;  ///< empty: system_clock
  };
  RetentionJanitor();
  explicit RetentionJanitor(Options options);
  /// Stops the thread and unhooks the writers (which must outlive the janitor).
  ~RetentionJanitor();
  RetentionJanitor(const RetentionJanitor&) = delete;
  RetentionJanitor& operator=(const RetentionJanitor&) = delete;

  /// Before start(): keep `writer`'s directory within `limits`. A writer with no limit at all is
  /// not watched.
  void watch(Writer& writer, RetentionLimits limits);
  /// Starts the thread, which makes a first pass at once.
  void start();
  /// Asks for a pass soon (what a writer does when it starts a new file); never blocks on one.
  void request();
  /// One pass over every watched directory on the calling thread (what the thread does).
  void run_once();

  std::uint64_t passes() const;         ///< passes finished
  std::uint64_t files_removed() const;  ///< in all passes

 private:
  struct Watched {
    Writer* writer;
    RetentionLimits limits;
  };
  void loop();
  Options options_;
  std::vector<Watched> watched_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool requested_ = false;
  bool stopping_ = false;
  std::uint64_t passes_ = 0;
  std::uint64_t files_removed_ = 0;
  std::mutex pass_mutex_;  ///< one pass at a time (the thread's, or a test's run_once)
  std::thread thread_;
};

}  // namespace sluice::protocol_log
