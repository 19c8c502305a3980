#include "base/account.h"

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace sluice {

Result<void> check_account_name(std::string_view name) {
  if (name.empty() || name.size() > 32) return fail("a user name has 1 to 32 characters");
  if (name.front() == '-') return fail(fmt::format("\"{}\" starts with '-'", name));
  for (char c : name) {
    const bool allowed =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!allowed) return fail("a user name has only letters, digits, '_', '-' and '.'");
  }
  return {};
}

Result<Account> find_account(const std::string& name) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  int error = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (error != 0) return fail(fmt::format("cannot look up user \"{}\": {}", name, std::strerror(error)));
  if (!found)
    return fail(fmt::format(
        "user \"{0}\" does not exist; create it with `useradd --system --user-group --home-dir /var/lib/sluice "
        "--shell /usr/sbin/nologin {0}`",
        name));
  Account account{name, entry.pw_uid, entry.pw_gid, {}};
  int count = 32;
  for (int tries = 0; tries < 4; ++tries) {
    account.groups.resize(count);
    const int given = count;
    if (::getgrouplist(name.c_str(), account.gid, account.groups.data(), &count) >= 0) {
      account.groups.resize(count);
      return account;
    }
    if (count <= given) count = given * 2;  // glibc sets count to the size needed; be safe if it did not
  }
  return fail(fmt::format("cannot list the groups of user \"{}\"", name));
}

std::string user_name_of(uid_t uid) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found) return found->pw_name;
  return fmt::format("uid {}", uid);
}

std::string effective_user_name() { return user_name_of(::geteuid()); }

}  // namespace sluice
