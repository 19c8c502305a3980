#include "cli/service_user.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <system_error>

#include "base/access_problem.h"
#include "base/logging.h"
#include "base/ownership.h"
#include "base/privilege_drop.h"
#include "config/files_in_use.h"

namespace sluice::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDefaultServiceUser = "sluice";
/// What sluice keeps in its state directory (queue/spool.h, protocol_log/, queue/maildir.h,
/// tls/certificates.h, control/control_socket.h).
constexpr const char* kStateEntries[] = {"queue", "logs", "maildir", "tls", "control.sock"};

using Ours = std::function<bool(const std::string& name)>;

/// Gives `dir` itself and the entries of it that `ours` accepts (with everything below them) to
/// `account`. A directory that is not the account's yet is given only when everything in it is
/// sluice's: never a whole /var because state_dir says so by mistake.
Result<void> give_directory(const fs::path& dir, const char* setting, const Account& account, const Ours& ours) {
  struct stat info {};
  if (::stat(dir.c_str(), &info) != 0)
    return fail(fmt::format("{} {}: {}", setting, dir.string(), std::strerror(errno)));
  if (!S_ISDIR(info.st_mode)) return fail(fmt::format("{} {} is not a directory", setting, dir.string()));
  std::error_code ec;
  std::vector<std::string> names;
  for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    names.push_back(it->path().filename().string());
  if (ec) return fail(fmt::format("{} {}: {}", setting, dir.string(), ec.message()));
  if (info.st_uid != account.uid) {
    for (const auto& name : names)
      if (!ours(name))
        return fail(fmt::format(
            "{} {} belongs to {} and holds \"{}\", which sluice did not make, so sluice will not give it to user "
            "{}: if the directory is sluice's alone, run `chown -R {}: {}`; else choose a directory of its own",
            setting, dir.string(), user_name_of(info.st_uid), name, account.name, account.name, dir.string()));
    if (::chown(dir.c_str(), account.uid, account.gid) != 0)
      return fail(
          fmt::format("cannot give {} {} to user {}: {}", setting, dir.string(), account.name, std::strerror(errno)));
  }
  OwnershipChanges total;
  for (const auto& name : names) {
    if (!ours(name)) continue;
    auto changes = give_tree(dir / name, account.uid, account.gid);
    if (!changes) return fail(changes.error().message);
    total.changed += changes->changed;
    total.skipped += changes->skipped;
  }
  if (total.changed > 0) log_info("gave {} file(s) in {} to user {}", total.changed, dir.string(), account.name);
  if (total.skipped > 0)
    log_warning(
        "{} file(s) in {} have several hard links and were left to their owner: they may be links to files "
        "elsewhere",
        total.skipped, dir.string());
  return {};
}

fs::path normal_absolute(const fs::path& path) { return fs::absolute(path).lexically_normal(); }

/// The first component of `inner` below `outer`, or empty when `inner` is not below it.
std::string first_component_below(const fs::path& outer, const fs::path& inner) {
  const fs::path relative = normal_absolute(inner).lexically_relative(normal_absolute(outer));
  if (relative.empty() || *relative.begin() == ".." || *relative.begin() == ".") return {};
  return relative.begin()->string();
}

Result<void, std::vector<std::string>> check_files_here(const config::Config& cfg, const fs::path& config_file) {
  std::vector<std::string> problems;
  for (const auto& file : config::files_in_use(cfg, config_file)) {
    const std::string why = access_problem(file.path, R_OK, "read");
    if (!why.empty())
      problems.push_back(fmt::format("{}: {}, and sluice reads it again while it runs", file.setting, why));
  }
  if (problems.empty()) return {};
  return fail(std::move(problems));
}

/// check_files_here in a child that drops to `account` first; its lines come back through a pipe.
Result<void, std::vector<std::string>> check_files_in_child(const Account& account, const config::Config& cfg,
                                                            const fs::path& config_file) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    return fail(std::vector<std::string>{fmt::format("pipe: {}", std::strerror(errno))});
  std::fflush(nullptr);
  const pid_t child = ::fork();
  if (child < 0) return fail(std::vector<std::string>{fmt::format("fork: {}", std::strerror(errno))});
  if (child == 0) {
    ::close(pipe_fds[0]);
    std::string report;
    if (auto dropped = drop_privileges(account); !dropped)
      report = fmt::format("cannot become user {} to check the files it must read: {}\n", account.name,
                           dropped.error().message);
    else if (auto checked = check_files_here(cfg, config_file); !checked)
      for (const auto& line : checked.error()) report += line + "\n";
    for (std::size_t done = 0; done < report.size();) {
      const ssize_t n = ::write(pipe_fds[1], report.data() + done, report.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string report;
  char buffer[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    report.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (report.empty()) return {};
  std::vector<std::string> lines;
  for (std::size_t start = 0, end; start < report.size(); start = end + 1) {
    end = report.find('\n', start);
    if (end == std::string::npos) end = report.size();
    if (end > start) lines.push_back(report.substr(start, end - start));
  }
  return fail(std::move(lines));
}

}  // namespace

Result<std::optional<Account>> service_account(const config::Config& cfg) {
  if (::geteuid() != 0) return std::optional<Account>();
  auto account = find_account(cfg.user.value_or(kDefaultServiceUser));
  if (!account)
    return fail(account.error().message +
                ", or name another account in the `user` key or with serve --user (\"root\" keeps root)");
  if (account->uid == 0) return std::optional<Account>();
  return std::optional<Account>(std::move(*account));
}

Result<void> become_service_account(const config::Config& cfg, const std::optional<Account>& service) {
  if (!service) {
    const std::string self = effective_user_name();
    if (::geteuid() == 0)
      log_warning(
          "user = \"{}\": sessions run as root, with every privilege; name an unprivileged account (the default is "
          "\"sluice\") so that a flaw in sluice does not give away the machine",
          cfg.user.value_or(self));
    else if (cfg.user && *cfg.user != self)
      log_warning("user = \"{}\" is ignored: sluice was not started as root, so it runs as {}", *cfg.user, self);
    return {};
  }
  const Account& account = *service;
  std::vector<std::string> state_entries(std::begin(kStateEntries), std::end(kStateEntries));
  if (cfg.message_tracking.enabled) {
    const fs::path tracking = config::message_tracking_dir(cfg);
    const std::string inside = first_component_below(cfg.state_dir, tracking);
    if (!inside.empty()) {
      state_entries.push_back(inside);
    } else {
      // Elsewhere (a /var/log/sluice): made here, while its parent may still be written.
      std::error_code ec;
      fs::create_directories(tracking, ec);
      if (ec) return fail(fmt::format("cannot create message_tracking.dir {}: {}", tracking.string(), ec.message()));
      auto given = give_directory(tracking, "message_tracking.dir", account,
                                  [](const std::string& name) { return name.rfind("MSGTRK", 0) == 0; });
      if (!given) return given;
    }
  }
  auto given = give_directory(cfg.state_dir, "state_dir", account, [&](const std::string& name) {
    // ".ctlXXXXXX": where the control socket is bound before it is renamed into place, left by a crash.
    return std::find(state_entries.begin(), state_entries.end(), name) != state_entries.end() ||
           name.rfind(".ctl", 0) == 0;
  });
  if (!given) return given;
  if (auto dropped = drop_privileges(account); !dropped)
    return fail(fmt::format("cannot drop privileges to user {}: {}", account.name, dropped.error().message));
  log_info("running as user {} (uid {}, gid {}), keeping only CAP_NET_BIND_SERVICE", account.name, account.uid,
           account.gid);
  return {};
}

Result<void, std::vector<std::string>> check_files_in_use(const config::Config& cfg, const fs::path& config_file,
                                                          const std::optional<Account>& as) {
  if (as) return check_files_in_child(*as, cfg, config_file);
  return check_files_here(cfg, config_file);
}

Result<void> look_up_service_account(const config::Config& cfg, std::optional<Account>& account) {
  auto found = service_account(cfg);
  if (!found) return fail(found.error().message);
  account = *found;
  return {};
}

}  // namespace sluice::cli
