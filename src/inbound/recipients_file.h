// The recipients file as the gateway holds it while running: loaded at start-up, reloaded when it
// changes on disk. A change is noticed by a stat() at most once per check interval (not one per
// RCPT); a file that no longer parses keeps the previous list, and the reason is logged once.
#pragma once
#include <chrono>
#include <filesystem>
#include <memory>

#include "base/reloading_file.h"
#include "base/result.h"
#include "config/recipient_validation.h"

namespace sluice::inbound {

class RecipientsFile {
 public:
  using Clock = SteadyClock;

  /// Loads `path`; the error (unreadable, or a bad line: "path: line N: ...") is a start-up error.
  /// `clock` empty: the steady clock.
  static Result<std::unique_ptr<RecipientsFile>> open(
      const std::filesystem::path& path, Clock clock = {},
      std::chrono::steady_clock::duration check_interval = std::chrono::seconds(1));

  /// The current list; first reloaded when the file changed since it was last looked at (at most
  /// one stat() per check interval). A reload that fails keeps the list as it was. The reference is
  /// good until the next call.
  const config::RecipientList& list();
  /// Successful loads so far (1 after open()): for tests and the log.
  std::size_t loads() const { return file_.loads(); }

 private:
  explicit RecipientsFile(ReloadingFile<config::RecipientList> file) : file_(std::move(file)) {}

  ReloadingFile<config::RecipientList> file_;
};

}  // namespace sluice::inbound
