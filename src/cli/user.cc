// `sluice user`: maintains the SMTP AUTH users file (auth/user_database.h): add a user, change a
// password, remove a user, list them. Passwords come from the terminal or stdin, never argv, and
// only their crypt(3) hashes are written.
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "auth/user_database.h"
#include "auth/user_fields.h"
#include "base/secret_file.h"
#include "cli/command_line.h"
#include "cli/password_input.h"
#include "cli/subcommand.h"
#include "config/config.h"

namespace sluice::cli {
namespace {

namespace fs = std::filesystem;

struct UserOptions {
  std::string file;
  std::string config_file;
  std::string name;
  std::vector<std::string> senders;
  std::vector<std::string> rewrites;
  std::string rate;
  bool no_relay = false;
  bool replace = false;
  bool password_stdin = false;
};

/// A failure to report as one line on stderr, with its exit status.
struct UserFailure {
  int status;
  std::string message;
};

/// --file, else the users_file of --config.
fs::path users_file_of(const UserOptions& options) {
  if (!options.file.empty()) return options.file;
  if (options.config_file.empty())
    throw UserFailure{kUsage, "which users file? give --file PATH, or -c CONFIG whose users_file names it"};
  config::Config cfg;
  try {
    cfg = config::load_config(options.config_file);
  } catch (const std::exception& e) {
    throw UserFailure{kUsage, e.what()};
  }
  if (cfg.users_file.empty())
    throw UserFailure{kUsage, fmt::format("{} sets no users_file: add one, or give --file PATH", options.config_file)};
  return cfg.users_file;
}

auth::UserDatabase load(const fs::path& file) {
  auto database = auth::UserDatabase::load(file);
  if (!database) throw UserFailure{kFailed, database.error().message};
  return std::move(*database);
}

// The hashes of a file others may read can be attacked offline: say so before it is rewritten
// (save() makes it 0600).
void warn_when_readable_by_others(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    fmt::print(stderr,
               "sluice user: warning: {} was readable by group or others (mode {:04o}): its password hashes may "
               "have been copied; it is written back with mode 0600\n",
               file.string(), st.st_mode & 07777);
}

void save(const auth::UserDatabase& database, const fs::path& file) {
  warn_when_readable_by_others(file);
  if (auto saved = database.save(file); !saved) throw UserFailure{kFailed, saved.error().message};
}

std::string new_password_hash(const UserOptions& options) {
  auto password = options.password_stdin ? read_password_from_stdin() : read_new_password_from_terminal(options.name);
  if (!password) throw UserFailure{kFailed, password.error().message};
  if (password->empty()) throw UserFailure{kFailed, "an empty password is refused; nothing changed"};
  auto hash = auth::hash_password(*password);
  wipe_secret(*password);
  if (!hash) throw UserFailure{kFailed, hash.error().message};
  return std::move(*hash);
}

// Everything on add's command line is checked before the password is asked for.
auth::User user_from_options(const UserOptions& options) {
  auth::User user;
  user.name = options.name;
  for (const auto& pattern : options.senders) {
    if (auto ok = auth::check_sender_pattern(pattern); !ok)
      throw UserFailure{kUsage, "--sender: " + ok.error().message};
    user.allowed_senders.push_back(pattern);
  }
  user.may_relay = !options.no_relay;
  if (!options.rate.empty()) {
    auto rate = auth::parse_rate(options.rate);
    if (!rate) throw UserFailure{kUsage, "--rate: " + rate.error().message};
    user.rate = *rate;
  }
  for (const auto& text : options.rewrites) {
    auto rewrite = auth::parse_rewrite(text, '=');
    if (!rewrite) throw UserFailure{kUsage, "--rewrite: " + rewrite.error().message};
    user.rewrite_senders.push_back(std::move(*rewrite));
  }
  return user;
}

int add(const UserOptions& options, const fs::path& file) {
  auth::User user = user_from_options(options);
  std::error_code ec;
  bool exists = fs::exists(file, ec);  // add is the one command that may create the file
  if (ec) throw UserFailure{kFailed, fmt::format("cannot read {}: {}", file.string(), ec.message())};
  auth::UserDatabase database = exists ? load(file) : auth::UserDatabase{};
  bool replacing = database.find(user.name) != nullptr;
  if (replacing && !options.replace)
    throw UserFailure{kFailed, fmt::format("user {} is already in {}: change its password with 'sluice user passwd "
                                           "{}', or give --replace to set everything anew",
                                           user.name, file.string(), user.name)};
  user.password_hash = new_password_hash(options);
  database.put(std::move(user));
  save(database, file);
  fmt::print(stderr, "sluice user: {} {} in {}\n", replacing ? "replaced" : "added", options.name, file.string());
  return kOk;
}

int passwd(const UserOptions& options, const fs::path& file) {
  auth::UserDatabase database = load(file);
  const auth::User* found = database.find(options.name);
  if (!found) throw UserFailure{kFailed, fmt::format("no user {} in {}", options.name, file.string())};
  auth::User user = *found;
  user.password_hash = new_password_hash(options);
  database.put(std::move(user));
  save(database, file);
  fmt::print(stderr, "sluice user: changed the password of {} in {}\n", options.name, file.string());
  return kOk;
}

int remove(const UserOptions& options, const fs::path& file) {
  auth::UserDatabase database = load(file);
  if (!database.remove(options.name))
    throw UserFailure{kFailed, fmt::format("no user {} in {}", options.name, file.string())};
  save(database, file);
  fmt::print(stderr, "sluice user: removed {} from {}\n", options.name, file.string());
  return kOk;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out.empty() ? "-" : out;
}

// Everything about each user but its hash.
int list(const fs::path& file) {
  auth::UserDatabase database = load(file);
  std::vector<std::array<std::string, 5>> rows{{"NAME", "SENDERS", "RELAY", "RATE", "REWRITES"}};
  for (const auto& user : database.users()) {
    std::vector<std::string> rewrites;
    for (const auto& r : user.rewrite_senders) rewrites.push_back(r.pattern + "=" + r.replacement);
    rows.push_back({user.name, join(user.allowed_senders), user.may_relay ? "yes" : "no",
                    user.rate ? auth::format_rate(*user.rate) : "-", join(rewrites)});
  }
  std::array<std::size_t, 5> width{};
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  for (const auto& row : rows)
    fmt::print("{:<{}}  {:<{}}  {:<{}}  {:<{}}  {}\n", row[0], width[0], row[1], width[1], row[2], width[2], row[3],
               width[3], row[4]);
  return kOk;
}

constexpr const char* kHelp = R"(Maintain the SMTP AUTH users file (docs/relay-for-devices.md).

  sluice user add NAME [--sender PATTERN]... [--no-relay] [--rate N/DURATION]
                       [--rewrite PATTERN=ADDRESS]... [--replace] [--password-stdin]
  sluice user passwd NAME [--password-stdin]      change the password only
  sluice user remove NAME
  sluice user list                                  names, senders, relay, rate, rewrites; never hashes

The file is --file PATH, else the users_file of the configuration given with -c.
The password is asked twice on the terminal (not shown), or is the first line of stdin with
--password-stdin; it is never taken from the command line. Only its crypt(3) hash (yescrypt) is
stored; the file is replaced atomically and has mode 0600.
PATTERN: an exact address (app@contoso.com) or a whole domain (*@contoso.com), any case.
Exit status: 0 done, 1 failed (user exists or unknown, bad file, passwords differ), 2 usage error.)";

}  // namespace

int run_user(int argc, char** argv) {
  CLI::App app{kHelp, "sluice user"};
  UserOptions options;
  app.fallthrough();
  app.require_subcommand(1);
  app.add_option("-f,--file", options.file, "the users file (overrides the configuration's users_file)");
  app.add_option("-c,--config", options.config_file, "TOML configuration file whose users_file to use");

  auto* add_cmd = app.add_subcommand("add", "add a user (asks for its password)");
  auto* passwd_cmd = app.add_subcommand("passwd", "change a user's password");
  auto* remove_cmd = app.add_subcommand("remove", "remove a user");
  app.add_subcommand("list", "list the users, without their password hashes");
  for (auto* command : {add_cmd, passwd_cmd, remove_cmd})
    command->add_option("name", options.name, "the user name the client authenticates with")->required();
  for (auto* command : {add_cmd, passwd_cmd})
    command->add_flag("--password-stdin", options.password_stdin,
                      "read the password from the first line of stdin instead of the terminal");
  add_cmd->add_option("--sender", options.senders, "an envelope sender the user may use (repeatable)");
  add_cmd->add_flag("--no-relay", options.no_relay, "only to accepted domains (default: may relay)");
  add_cmd->add_option("--rate", options.rate, "at most N messages per DURATION (100/1h; units d, h, m, s)");
  add_cmd->add_option("--rewrite", options.rewrites,
                      "rewrite the sender PATTERN to ADDRESS (*@printer.local=scanner@contoso.com; repeatable)");
  add_cmd->add_flag("--replace", options.replace, "replace a user of that name, password and all");

  if (auto stop = parse_command_line(app, "user", argc, argv)) return *stop;

  try {
    if (!options.name.empty())
      if (auto ok = auth::check_user_name(options.name); !ok) throw UserFailure{kUsage, ok.error().message};
    fs::path file = users_file_of(options);
    if (add_cmd->parsed()) return add(options, file);
    if (passwd_cmd->parsed()) return passwd(options, file);
    if (remove_cmd->parsed()) return remove(options, file);
    return list(file);
  } catch (const UserFailure& failure) {
    if (failure.status == kUsage) return usage_error("user", failure.message);
    fmt::print(stderr, "sluice user: {}\n", failure.message);
    return failure.status;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sluice user: {}\n", e.what());
    return kFailed;
  }
}

}  // namespace sluice::cli
