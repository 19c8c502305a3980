#include "base/access_problem.h"

#include <fmt/format.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <iterator>

#include "base/account.h"

namespace sluice {
namespace {

std::string group_name(gid_t gid) {
  if (const group* gr = ::getgrgid(gid)) return gr->gr_name;
  return fmt::format("gid {}", gid);
}

std::string refusal(const std::filesystem::path& path, const char* verb) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return {};
  return fmt::format("{} is mode {:04o}, owner {}, group {}: user {} may not {} it", path.string(),
                     info.st_mode & 07777, user_name_of(info.st_uid), group_name(info.st_gid), effective_user_name(),
                     verb);
}

}  // namespace

std::string access_problem(const std::filesystem::path& path, int access_mode, const char* verb) {
  std::filesystem::path absolute = std::filesystem::absolute(path);
  std::filesystem::path prefix;
  for (auto it = absolute.begin(); it != absolute.end(); ++it) {
    prefix /= *it;
    if (std::next(it) == absolute.end()) break;
    if (::access(prefix.c_str(), X_OK) != 0) return errno == EACCES ? refusal(prefix, "enter") : std::string();
  }
  if (::access(absolute.c_str(), access_mode) == 0 || errno != EACCES) return {};
  return refusal(absolute, verb);
}

}  // namespace sluice
