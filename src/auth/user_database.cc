// The users file: reading it line by line (every bad line an error with file and line number)
// and writing it back whole, atomically, readable by its owner only.
#include "auth/user_database.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>

#include "auth/user_fields.h"
#include "base/atomic_file.h"
#include "base/text.h"

namespace sluice::auth {
namespace {

namespace fs = std::filesystem;

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::vector<std::string_view> split_on(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (;;) {
    auto at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

std::vector<std::string_view> split_on_blanks(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_blank(text[i])) ++i;
    std::size_t start = i;
    while (i < text.size() && !is_blank(text[i])) ++i;
    if (i > start) words.push_back(text.substr(start, i - start));
  }
  return words;
}

Result<void> read_user_options(std::string_view text, User& user) {
  std::map<std::string_view, bool> seen;
  for (std::string_view option : split_on_blanks(text)) {
    auto equals = option.find('=');
    std::string_view key = option.substr(0, equals);
    std::string_view value = equals == std::string_view::npos ? std::string_view{} : option.substr(equals + 1);
    if (equals == std::string_view::npos || (key != "relay" && key != "rate" && key != "rewrite"))
      return fail(fmt::format("unknown option \"{}\" (expected relay=yes|no, rate=N/DURATION, rewrite=PATTERN>ADDRESS)",
                              option));
    if (key != "rewrite" && seen[key]) return fail(fmt::format("option {} given twice", key));
    seen[key] = true;
    if (key == "relay") {
      if (value != "yes" && value != "no") return fail(fmt::format("relay=\"{}\": expected yes or no", value));
      user.may_relay = value == "yes";
    } else if (key == "rate") {
      auto rate = parse_rate(value);
      if (!rate) return fail(rate.error());
      user.rate = *rate;
    } else {
      auto rewrite = parse_rewrite(value, '>');
      if (!rewrite) return fail(rewrite.error());
      user.rewrite_senders.push_back(std::move(*rewrite));
    }
  }
  return {};
}

Result<User> read_user_line(std::string_view line) {
  auto fields = split_on(line, ':');
  if (fields.size() != 4)
    return fail(fmt::format("{} fields where name:password_hash:allowed_senders:options has 4", fields.size()));
  User user;
  user.name = std::string(fields[0]);
  if (auto ok = check_user_name(user.name); !ok) return fail(ok.error());
  if (auto ok = check_password_hash(fields[1]); !ok) return fail(ok.error());
  user.password_hash = std::string(fields[1]);
  if (!fields[2].empty()) {
    for (std::string_view pattern : split_on(fields[2], ',')) {
      if (auto ok = check_sender_pattern(pattern); !ok) return fail(ok.error());
      user.allowed_senders.emplace_back(pattern);
    }
  }
  if (auto ok = read_user_options(fields[3], user); !ok) return fail(ok.error());
  return user;
}

std::string user_line(const User& user) {
  std::string senders;
  for (const auto& pattern : user.allowed_senders) senders += (senders.empty() ? "" : ",") + pattern;
  std::string options = user.may_relay ? "relay=yes" : "relay=no";
  if (user.rate) options += " rate=" + format_rate(*user.rate);
  for (const auto& rewrite : user.rewrite_senders) options += " rewrite=" + rewrite.pattern + ">" + rewrite.replacement;
  return fmt::format("{}:{}:{}:{}\n", user.name, user.password_hash, senders, options);
}

// A line the reader would not read back (a caller put() a user with a bad field): refused at
// save rather than written and found at the next start.
Result<void> check_user(const User& user) {
  if (auto ok = check_user_name(user.name); !ok) return ok;
  if (auto ok = check_password_hash(user.password_hash); !ok) return fail(user.name + ": " + ok.error().message);
  for (const auto& pattern : user.allowed_senders)
    if (auto ok = check_sender_pattern(pattern); !ok) return fail(user.name + ": " + ok.error().message);
  for (const auto& rewrite : user.rewrite_senders)
    if (auto ok = check_rewrite(rewrite); !ok) return fail(user.name + ": " + ok.error().message);
  if (user.rate && (user.rate->messages == 0 || user.rate->per.count() <= 0))
    return fail(user.name + ": the rate needs at least 1 message per at least 1 second");
  return {};
}

// The temporary file is created 0600 (fchmod too, whatever the umask) and, when root rewrites a
// file another user owns (the account sluice serve runs as), given that file's owner and group.
FileOpener owner_only_opener(const fs::path& file) {
  struct stat old {};
  bool keep_owner = ::geteuid() == 0 && ::stat(file.c_str(), &old) == 0;
  return [keep_owner, old](const fs::path& temp) {
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    if (::fchmod(fd, 0600) != 0 || (keep_owner && ::fchown(fd, old.st_uid, old.st_gid) != 0)) {
      int error = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      errno = error;
      return -1;
    }
    return fd;
  };
}

}  // namespace

Result<UserDatabase> UserDatabase::load(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(fmt::format("cannot read {}: {}", file.string(), std::strerror(errno)));
  UserDatabase database;
  std::map<std::string, std::size_t, std::less<>> line_of;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto first = std::find_if_not(line.begin(), line.end(), is_blank);
    if (first == line.end() || *first == '#') continue;
    auto user = read_user_line(line);
    if (!user) return fail(fmt::format("{}: line {}: {}", file.string(), number, user.error().message));
    auto [where, added] = line_of.emplace(user->name, number);
    if (!added)
      return fail(fmt::format("{}: line {}: user \"{}\" is already on line {}", file.string(), number, user->name,
                              where->second));
    database.users_.push_back(std::move(*user));
  }
  if (in.bad()) return fail(fmt::format("cannot read {}: {}", file.string(), std::strerror(errno)));
  return database;
}

Result<void> UserDatabase::save(const fs::path& file) const {
  std::string text =
      "# sluice users file (docs/relay-for-devices.md), written by `sluice user`:\n"
      "# name:password_hash:allowed_senders:options\n";
  for (const auto& user : users_) {
    if (auto ok = check_user(user); !ok)
      return fail(fmt::format("cannot write {}: {}", file.string(), ok.error().message));
    text += user_line(user);
  }
  fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  if (auto ec = write_file_durably(dir, file.filename().string(), text, owner_only_opener(file)))
    return fail(fmt::format("cannot write {}: {}", file.string(), ec.message()));
  return {};
}

const User* UserDatabase::find(std::string_view name) const {
  auto it = std::find_if(users_.begin(), users_.end(), [&](const User& u) { return u.name == name; });
  return it == users_.end() ? nullptr : &*it;
}

void UserDatabase::put(User user) {
  auto it = std::find_if(users_.begin(), users_.end(), [&](const User& u) { return u.name == user.name; });
  if (it == users_.end())
    users_.push_back(std::move(user));
  else
    *it = std::move(user);
}

bool UserDatabase::remove(std::string_view name) {
  auto it = std::find_if(users_.begin(), users_.end(), [&](const User& u) { return u.name == name; });
  if (it == users_.end()) return false;
  users_.erase(it);
  return true;
}

}  // namespace sluice::auth
