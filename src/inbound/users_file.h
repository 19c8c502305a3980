// The users file as the gateway holds it while running (docs/relay-for-devices.md): loaded at
// start-up, reloaded when it changes on disk (at most one stat() a second, as the recipients file),
// so that `sluice user add` takes effect without a restart. A file that no longer loads keeps the
// previous users, and the reason is logged.
#pragma once
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "auth/user_database.h"
#include "base/reloading_file.h"
#include "base/result.h"
#include "inbound/authenticator.h"

namespace sluice::inbound {

class UsersFile : public Authenticator {
 public:
  /// Loads `path`; the error (unreadable, or a bad line) names the file and is a start-up error.
  /// `clock` empty: the steady clock.
  static Result<std::unique_ptr<UsersFile>> open(
      const std::filesystem::path& path, FileWatch::Clock clock = {},
      std::chrono::steady_clock::duration check_interval = std::chrono::seconds(1));

  asio::awaitable<std::shared_ptr<const auth::User>> verify(const std::string& name, const std::string& password,
                                                            const asio::any_io_executor& blocking) override;

  /// The users now, first reloaded when the file changed (at most one stat() per check interval).
  std::shared_ptr<const auth::UserDatabase> users();
  /// Successful loads so far (1 after open()).
  std::size_t loads() const { return file_.loads(); }

 private:
  explicit UsersFile(ReloadingFile<auth::UserDatabase> file) : file_(std::move(file)) {}

  ReloadingFile<auth::UserDatabase> file_;
  /// Checked in place of an unknown user's hash, so that its answer takes as long as a known
  /// user's with a wrong password (no telling user names apart by the time).
  std::string unknown_user_hash_;
};

}  // namespace sluice::inbound
