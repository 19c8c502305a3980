#include "base/file_watch.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace sluice {

FileWatch::FileWatch(std::filesystem::path path, Clock clock, std::chrono::steady_clock::duration check_interval)
    : path_(std::move(path)), clock_(steady_clock_if_empty(std::move(clock))), interval_(check_interval) {}

Result<FileWatch::Stamp> FileWatch::stamp_of(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail(std::strerror(errno));
  return Stamp{st.st_ino, st.st_size, std::int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec};
}

Result<void> FileWatch::mark() {
  auto stamp = stamp_of(path_);
  if (!stamp) return fail(path_.string() + ": cannot read: " + stamp.error().message);
  seen_ = *stamp;
  next_check_ = clock_() + interval_;
  return {};
}

Result<bool> FileWatch::changed() {
  const auto now = clock_();
  if (now < next_check_) return false;
  next_check_ = now + interval_;
  auto stamp = stamp_of(path_);
  if (!stamp) {
    // Gone or unreadable for a moment (an editor saving, a deployment): say so once.
    const bool was_there = seen_.size != -1;
    seen_ = Stamp{};
    if (was_there) return fail(stamp.error().message);
    return false;
  }
  if (*stamp == seen_) return false;
  seen_ = *stamp;
  return true;
}

}  // namespace sluice
