// Passwords against crypt(3) hashes through libxcrypt: yescrypt for new hashes (SHA-512-crypt
// where the library lacks it), any method libxcrypt knows for checking.
#include <crypt.h>
#include <fmt/format.h>
#include <openssl/crypto.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "auth/user_database.h"

namespace sluice::auth {
namespace {

// 32 KiB of crypt state on the heap, wiped when done: it held the password.
struct CryptScratch {
  std::unique_ptr<crypt_data> data = std::make_unique<crypt_data>();
  CryptScratch() { std::memset(data.get(), 0, sizeof(crypt_data)); }
  ~CryptScratch() { OPENSSL_cleanse(data.get(), sizeof(crypt_data)); }
};

// Whether crypt can take the password as a C string: no NUL inside, and not longer than
// libxcrypt accepts.
bool fits_crypt(std::string_view password) {
  return password.size() < CRYPT_MAX_PASSPHRASE_SIZE && password.find('\0') == std::string_view::npos;
}

}  // namespace

bool verify_password(std::string_view password, const std::string& hash) {
  if (!fits_crypt(password) || hash.empty()) return false;
  CryptScratch scratch;
  std::memcpy(scratch.data->input, password.data(), password.size());
  scratch.data->input[password.size()] = '\0';
  const char* computed = crypt_rn(scratch.data->input, hash.c_str(), scratch.data.get(), sizeof(crypt_data));
  if (computed == nullptr || computed[0] == '*') return false;
  std::size_t length = std::strlen(computed);
  // The length of a hash follows from its method and parameters, which the hash shows anyway;
  // only the bytes are compared in constant time.
  return length == hash.size() && CRYPTO_memcmp(computed, hash.data(), length) == 0;
}

Result<std::string> hash_password(std::string_view password) {
  if (password.find('\0') != std::string_view::npos) return fail("the password contains a NUL byte");
  if (!fits_crypt(password))
    return fail(fmt::format("the password is longer than {} bytes", CRYPT_MAX_PASSPHRASE_SIZE - 1));
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  // Count 0: the library's default cost; no random bytes given: it reads them from the system.
  if (crypt_gensalt_rn("$y$", 0, nullptr, 0, setting, sizeof setting) == nullptr &&
      crypt_gensalt_rn("$6$", 0, nullptr, 0, setting, sizeof setting) == nullptr)
    return fail(fmt::format("cannot make a password salt: {}", std::strerror(errno)));
  CryptScratch scratch;
  std::memcpy(scratch.data->input, password.data(), password.size());
  scratch.data->input[password.size()] = '\0';
  const char* hash = crypt_rn(scratch.data->input, setting, scratch.data.get(), sizeof(crypt_data));
  if (hash == nullptr || hash[0] == '*') return fail(fmt::format("cannot hash the password: {}", std::strerror(errno)));
  return std::string(hash);
}

}  // namespace sluice::auth
