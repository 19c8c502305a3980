// A system account that sluice can run as: the user named by the `user` key, looked up in the
// password and group databases (so NSS sources such as LDAP work as for any daemon).
#pragma once
#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sluice {

struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;              ///< the primary group
  std::vector<gid_t> groups;  ///< supplementary groups, the primary one included (getgrouplist)
};

/// Fails unless `name` could be a user name: 1 to 32 characters of letters, digits, '_', '-' and
/// '.', not starting with '-' (useradd's rules, a little wider: it also allows '.').
Result<void> check_account_name(std::string_view name);

/// The account `name`. A name that does not exist fails with a message naming it and the command
/// that makes a system account for sluice (useradd --system ...); so does a lookup that fails.
Result<Account> find_account(const std::string& name);

/// The name of user `uid`, or "uid N" when it has none.
std::string user_name_of(uid_t uid);
/// The name of the effective user of this process, or "uid N" when it has none.
std::string effective_user_name();

}  // namespace sluice
