#include "outbound/secret_file.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace sluice::outbound {

Result<void> refuse_readable_by_others(const std::filesystem::path& path, std::string_view setting) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return fail(fmt::format("{} {}: {}", setting, path.string(), std::strerror(errno)));
  if (st.st_mode & S_IROTH)
    return fail(fmt::format("{} {} is readable by others (mode {:04o}): chmod o-rwx it", setting, path.string(),
                            st.st_mode & 07777));
  return {};
}

Result<std::string> read_secret_file(const std::filesystem::path& path, std::string_view setting) {
  if (auto readable = refuse_readable_by_others(path, setting); !readable) return fail(readable.error());
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(fmt::format("{} {}: {}", setting, path.string(), std::strerror(errno)));
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty())
    return fail(fmt::format("{} {}: the first line is empty (it must hold the secret)", setting, path.string()));
  return line;
}

}  // namespace sluice::outbound
