// Durable file writes: the one place that knows how to make bytes survive a crash.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <system_error>

#include "base/result.h"

namespace sluice {

/// Opens a new file for writing and returns its descriptor, or -1 with errno set. The default
/// is open(path, O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0640); tests pass one that returns a
/// descriptor of /dev/full to see a full disk, which chmod cannot fake when tests run as root.
using FileOpener = std::function<int(const std::filesystem::path& path)>;

/// Writes `data` to `dir/name` so that after a crash the file is either absent or complete:
/// write to a temporary name in the same directory, fsync it, rename it into place, fsync the
/// directory. On failure nothing is left behind (the temporary file is removed) and an
/// existing `dir/name` keeps its old content. `name` must be a plain file name (no '/', not
/// "." or "..") and `dir` not empty, else std::errc::invalid_argument. Errors from the system
/// carry their errno in std::system_category(). One exception: if only the final directory
/// fsync fails, the new file is complete and in place but may not survive a crash; the error is
/// still returned.
std::error_code write_file_durably(const std::filesystem::path& dir, std::string_view name, std::string_view data);

/// The same, opening the temporary file through `open_new` (a test seam).
std::error_code write_file_durably(const std::filesystem::path& dir, std::string_view name, std::string_view data,
                                   const FileOpener& open_new);

/// Creates `file` (which must not exist), writes all of `data`, fsyncs and closes it. On
/// failure the file is removed. The caller renames it into place and fsyncs that directory;
/// this is the first half of write_file_durably, for callers (Maildir) whose temporary file
/// lives in another directory than the final one. An empty `open_new` means the default.
std::error_code write_new_file_synced(const std::filesystem::path& file, std::string_view data,
                                      const FileOpener& open_new = {});

/// Steps 1 to 3 of write_file_durably: writes `data` to a new file "<dir>/.tmp.<name>.<random>"
/// (O_EXCL), fsyncs and closes it, and sets *temp to its path. The caller renames it into place and
/// fsyncs `dir`, possibly once for many files (group commit, queue/spool.h). On failure nothing
/// is left behind. Same argument checks as write_file_durably.
std::error_code write_temp_file_synced(const std::filesystem::path& dir, std::string_view name, std::string_view data,
                                       const FileOpener& open_new, std::filesystem::path* temp);

/// A new file open for writing, and where it is.
struct OpenFile {
  int fd = -1;
  std::filesystem::path path;
};

/// Step 1 of write_temp_file_synced alone: creates "<dir>/.tmp.<name>.<random>" (O_EXCL, through
/// `open_new`; empty: the default) and returns it open, for a caller that writes it in pieces
/// (queue/message_draft.h) and owns the descriptor from then on. Same argument checks.
Result<OpenFile, std::error_code> create_temp_file(const std::filesystem::path& dir, std::string_view name,
                                                   const FileOpener& open_new);

/// Writes all of `data` to `fd` (short writes and EINTR retried); errno's error on failure.
std::error_code write_all(int fd, std::string_view data);

/// Replaces the content of the existing regular file `file` with `data` (written over from the
/// start, cut to its length, fdatasync, close), allocating no inode: for files recycled from
/// removed ones (queue/file_pool.h). On failure the file is left as it is, possibly half written.
std::error_code overwrite_file_synced(const std::filesystem::path& file, std::string_view data);

/// fsyncs a directory so that a rename or unlink inside it is on disk.
std::error_code fsync_directory(const std::filesystem::path& dir);

/// fsyncs the directory that holds `path` (e.g. after creating the directory `path`), so that
/// `path`'s own entry is on disk. A trailing '/' in `path` is ignored.
std::error_code fsync_parent_directory(const std::filesystem::path& path);

/// Group commit of one directory's fsync. Threads that changed entries in the directory (rename,
/// unlink) call sync(); it returns once an fsync of the directory that *started after the call*
/// has finished, with that fsync's result. While one fsync runs, every caller that arrives waits
/// for the next one, which then covers all of them: N concurrent callers cost two fsyncs, not N.
/// Thread-safe; the object must outlive its callers.
class DirectorySync {
 public:
  using SyncFunction = std::function<std::error_code(const std::filesystem::path& dir)>;
  /// `sync` defaults to fsync_directory (tests pass a counting or failing one).
  explicit DirectorySync(std::filesystem::path dir, SyncFunction sync = {});
  DirectorySync(const DirectorySync&) = delete;
  DirectorySync& operator=(const DirectorySync&) = delete;

  /// Makes every change the caller made in the directory before this call durable.
  std::error_code sync();
  /// fsyncs started so far, and callers now waiting for one (for tests; atomic, so no lock).
  std::uint64_t rounds() const { return rounds_; }
  std::size_t waiting() const { return waiting_; }

 private:
  struct Round {
    bool finished = false;
    std::error_code error;
  };
  std::filesystem::path dir_;
  SyncFunction sync_;
  mutable std::mutex mutex_;
  std::condition_variable finished_;
  bool running_ = false;
  std::shared_ptr<Round> next_;  ///< the round the next fsync to start will complete
  std::atomic<std::uint64_t> rounds_{0};
  std::atomic<std::size_t> waiting_{0};
};

}  // namespace sluice
