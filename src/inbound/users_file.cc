#include "inbound/users_file.h"

#include <openssl/rand.h>

#include <fmt/format.h>

#include "base/blocking.h"

namespace sluice::inbound {

Result<std::unique_ptr<UsersFile>> UsersFile::open(const std::filesystem::path& path, FileWatch::Clock clock,
                                                   std::chrono::steady_clock::duration check_interval) {
  auto loaded = ReloadingFile<auth::UserDatabase>::open(
      path, &auth::UserDatabase::load,
      {"users file", [](const auth::UserDatabase& db) { return fmt::format("{} users", db.users().size()); },
       [](const auth::UserDatabase& db) { return fmt::format("users ({})", db.users().size()); }},
      std::move(clock), check_interval);
  if (!loaded) return fail(loaded.error());
  std::unique_ptr<UsersFile> file(new UsersFile(std::move(*loaded)));
  // A password nobody knows: random bytes, hashed as the users' passwords are.
  unsigned char secret[18];
  if (RAND_bytes(secret, sizeof secret) == 1) {
    auto hash = auth::hash_password(std::string_view(reinterpret_cast<const char*>(secret), sizeof secret));
    if (hash) file->unknown_user_hash_ = std::move(*hash);
  }
  return file;
}

std::shared_ptr<const auth::UserDatabase> UsersFile::users() { return file_.current(); }

asio::awaitable<std::shared_ptr<const auth::User>> UsersFile::verify(const std::string& name,
                                                                     const std::string& password,
                                                                     const asio::any_io_executor& blocking) {
  std::shared_ptr<const auth::UserDatabase> database = users();
  const auth::User* user = database->find(name);
  const std::string* hash = user ? &user->password_hash : &unknown_user_hash_;
  const std::string* secret = &password;
  const bool matches =
      co_await run_blocking(blocking, [hash, secret] { return auth::verify_password(*secret, *hash); });
  if (user == nullptr || !matches) co_return nullptr;
  // Shares the database's lifetime: the entry stays valid after a reload replaces the database.
  co_return std::shared_ptr<const auth::User>(database, user);
}

}  // namespace sluice::inbound
