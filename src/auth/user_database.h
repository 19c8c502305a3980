// The users who may authenticate with SMTP AUTH on a receive connector (docs/relay-for-devices.md):
// the `users_file`, one user a line, passwords only as crypt(3) hashes (yescrypt, or SHA-512-crypt),
// each user with the envelope senders it may use, whether it may relay, an optional message rate
// and sender rewrites. Maintained by `sluice user add|passwd|remove|list`.
//
// The file, like /etc/passwd: `#` comments and blank lines are ignored; each other line is
//   name:password_hash:allowed_senders:options
// allowed_senders a comma-separated list (may be empty), options space-separated, each at most once
// except rewrite: `relay=yes|no`, `rate=<count>/<duration>` ("100/1h"), `rewrite=<pattern>><address>`
// ("rewrite=*@printer.local>scanner@contoso.com"). Example:
//   scanner1:$y$j9T$...:*@contoso.com:relay=no rate=100/1h rewrite=*@printer.local>scanner@contoso.com
#pragma once
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sluice::auth {

/// At most `messages` per `per` (a sliding window), e.g. 100 per hour.
struct RateLimit {
  std::size_t messages = 0;
  std::chrono::seconds per{3600};
};

/// One rewrite of a device's made-up sender: `pattern` ("*@printer.local", "root@localhost")
/// becomes `replacement` ("scanner@contoso.com").
struct SenderRewrite {
  std::string pattern;
  std::string replacement;
};

struct User {
  std::string name;           ///< what the client gives as its authentication identity
  std::string password_hash;  ///< crypt(3) output ("$y$...", "$6$..."); never logged
  /// Envelope senders this user may give in MAIL FROM: exact addresses or "*@domain" patterns
  /// (case-insensitive). Empty: only the user name itself when it is an address.
  std::vector<std::string> allowed_senders;
  bool may_relay = true;  ///< may send to domains that are not accepted domains
  std::optional<RateLimit> rate;
  std::vector<SenderRewrite> rewrite_senders;
};

class UserDatabase {
 public:
  /// Reads the users file; a bad line is an error naming the file and the line number.
  static Result<UserDatabase> load(const std::filesystem::path& file);
  /// Writes the whole file atomically (temporary file, fsync, rename) with mode 0600.
  Result<void> save(const std::filesystem::path& file) const;

  const User* find(std::string_view name) const;  ///< exact name; nullptr when unknown
  const std::vector<User>& users() const { return users_; }
  void put(User user);                 ///< adds, or replaces the user of that name
  bool remove(std::string_view name);  ///< false when there was none

 private:
  std::vector<User> users_;
};

/// True when `password` matches `hash` (crypt(3); constant-time comparison). CPU-heavy for
/// yescrypt by design: call it off the network thread.
bool verify_password(std::string_view password, const std::string& hash);
/// A new yescrypt hash of `password` with a fresh random salt (SHA-512-crypt where libxcrypt has
/// no yescrypt). Fails only when the system's crypt library does.
Result<std::string> hash_password(std::string_view password);

}  // namespace sluice::auth
