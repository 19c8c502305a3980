// Notices that a file changed on disk (a new file renamed over it, or one written in place) by
// its inode, size and modification time, looking at most once per check interval: the files the
// gateway reloads while running (the recipients file, the users file) are read again only when
// they changed, and a stat() per RCPT or AUTH is avoided.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "base/result.h"
#include "base/steady_clock.h"

namespace sluice {

class FileWatch {
 public:
  using Clock = SteadyClock;

  /// `clock` empty: the steady clock.
  FileWatch(std::filesystem::path path, Clock clock, std::chrono::steady_clock::duration check_interval);

  /// Remembers the file as it is now: call before reading it, so that a change during the read is
  /// seen at the next check. The error: "<path>: cannot read: <reason>".
  Result<void> mark();
  /// True when the check interval has passed and the file differs from what mark() or the last
  /// check saw (it is then remembered as it is now). An error (the reason the file cannot be
  /// looked at) only the first time it goes missing; when it comes back, that is a change.
  Result<bool> changed();

  const std::filesystem::path& path() const { return path_; }

 private:
  struct Stamp {
    ino_t inode = 0;
    off_t size = -1;
    std::int64_t mtime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };
  static Result<Stamp> stamp_of(const std::filesystem::path& path);

  std::filesystem::path path_;
  Clock clock_;
  std::chrono::steady_clock::duration interval_;
  std::chrono::steady_clock::time_point next_check_{};
  Stamp seen_;  ///< the file as last looked at (loaded, or refused); size -1: missing
};

}  // namespace sluice
