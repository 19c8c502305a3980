#include "base/secret_file.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace sluice {

Result<void> check_private_file(const std::filesystem::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return fail(fmt::format("cannot be examined: {}", std::strerror(errno)));
  if (st.st_mode & (S_IRWXG | S_IRWXO))
    return fail(
        fmt::format("has mode {:04o}: a file holding a secret must not be open to group or others; chmod 600 it",
                    st.st_mode & 07777));
  return {};
}

Result<std::string> read_secret_file(const std::filesystem::path& file, std::string_view setting) {
  if (auto checked = check_private_file(file); !checked)
    return fail(fmt::format("{} {} {}", setting, file.string(), checked.error().message));
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(fmt::format("{} {} cannot be read: {}", setting, file.string(), std::strerror(errno)));
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty())
    return fail(fmt::format("{} {} has an empty first line (it must hold the secret)", setting, file.string()));
  return line;
}

void wipe_secret(std::string& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

}  // namespace sluice
