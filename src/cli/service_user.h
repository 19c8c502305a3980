// Least privilege for `sluice serve` (docs/security.md, "Least privilege"): started as root it
// reads what needs root, hands the state directory to the service account and becomes that
// account before any thread starts; the files it will read again later are then checked as that
// account, so that a key it cannot read is a start-up error and not a failed reload.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/account.h"
#include "base/result.h"
#include "config/config.h"

namespace sluice::cli {

/// The account `serve` drops to: the `user` key's ("sluice" when unset) when started as root;
/// nothing when it stays as it is (not started as root, or `user` is a uid 0 account). Fails when
/// the account does not exist, saying how to create it. Called first, so that this error comes
/// before anything is made.
Result<std::optional<Account>> service_account(const config::Config& cfg);
/// service_account() for load_gateway's vet step (before anything is made): the account into `account`.
Result<void> look_up_service_account(const config::Config& cfg, std::optional<Account>& account);

/// With an account: gives the state directory, what sluice keeps in it (queue, logs, maildir, tls,
/// control.sock) and a message tracking directory elsewhere to it, then drops to it
/// (base/privilege_drop.h). Refuses to give away a directory that is not the account's and holds
/// entries sluice did not make (a state_dir of "/var" by mistake). Must run before any thread
/// starts. Without one, logs why sessions keep the process's user when that deserves a warning
/// (root kept; a `user` that names someone else, ignored when not started as root). Called once
/// the whole configuration has loaded, so that a configuration error stays the only line.
Result<void> become_service_account(const config::Config& cfg, const std::optional<Account>& account);

/// Every file the running gateway reads again (config/files_in_use.h) that it may not read, as
/// one line each naming the setting, the file and the user. Without `as`, checked as this process
/// (after the drop); with it, from a child process that drops to that account first: for a
/// configuration check, which must change nothing in this process.
Result<void, std::vector<std::string>> check_files_in_use(const config::Config& cfg,
                                                          const std::filesystem::path& config_file,
                                                          const std::optional<Account>& as = {});

}  // namespace sluice::cli
