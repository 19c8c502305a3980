// The recipients file as the gateway holds it while running: loaded at start-up, reloaded when it
// changes on disk. A change is noticed by a stat() at most once per check interval (not one per
// RCPT); a file that no longer parses keeps the previous list, and the reason is logged once.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>

#include "base/result.h"
#include "config/recipient_validation.h"

namespace sluice::inbound {

class RecipientsFile {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  /// Loads `path`; the error (unreadable, or a bad line: "path: line N: ...") is a start-up error.
  /// `clock` empty: the steady clock.
  static Result<std::unique_ptr<RecipientsFile>> open(
      const std::filesystem::path& path, Clock clock = {},
      std::chrono::steady_clock::duration check_interval = std::chrono::seconds(1));

  /// The current list; first reloaded when the file changed since it was last looked at (at most
  /// one stat() per check interval). A reload that fails keeps the list as it was.
  const config::RecipientList& list();
  /// Successful loads so far (1 after open()): for tests and the log.
  std::size_t loads() const { return loads_; }

 private:
  /// What tells a changed file: a new file renamed over it, or one written in place.
  struct Stamp {
    ino_t inode = 0;
    off_t size = -1;
    std::int64_t mtime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };
  RecipientsFile(std::filesystem::path path, Clock clock, std::chrono::steady_clock::duration interval)
      : path_(std::move(path)), clock_(std::move(clock)), interval_(interval) {}
  static Result<Stamp> stamp_of(const std::filesystem::path& path);
  void reload_if_changed();

  std::filesystem::path path_;
  Clock clock_;
  std::chrono::steady_clock::duration interval_;
  std::chrono::steady_clock::time_point next_check_{};
  Stamp seen_;  ///< the file as last looked at (loaded, or refused)
  config::RecipientList list_;
  std::size_t loads_ = 0;
};

}  // namespace sluice::inbound
