#include "inbound/users_file.h"

#include <gtest/gtest.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_future.hpp>

#include <filesystem>
#include <fstream>

#include "base/temp_dir_test_util.h"

namespace sluice::inbound {
namespace {

using namespace std::chrono_literals;
using sluice::test_util::TempDir;

class UsersFileTest : public ::testing::Test {
 protected:
  /// "name:<hash of password>:senders:options\n"
  static std::string line(const std::string& name, const std::string& password, const std::string& rest = ":") {
    auto hash = auth::hash_password(password);
    EXPECT_TRUE(hash);
    return name + ":" + (hash ? *hash : "") + ":" + rest + "\n";
  }
  void write(const std::string& text) {
    // A new file renamed over the old one, as `sluice user add` does.
    const auto temp = dir.path() / "users.new";
    std::ofstream(temp, std::ios::binary) << text;
    std::filesystem::rename(temp, path);
  }
  std::unique_ptr<UsersFile> open() {
    auto file = UsersFile::open(path, [this] { return now; });
    EXPECT_TRUE(file) << (file ? "" : file.error().message);
    return file ? std::move(*file) : nullptr;
  }
  /// The user `verify` gives for name and password ("" when none), run as a session runs it.
  std::string verified(UsersFile& file, const std::string& name, const std::string& password) {
    asio::io_context io;
    auto result = asio::co_spawn(
        io,
        [&]() -> asio::awaitable<std::string> {
          auto blocking = blocking_.get_executor();
          const asio::any_io_executor executor = blocking;
          auto user = co_await file.verify(name, password, executor);
          co_return user ? user->name : std::string();
        },
        asio::use_future);
    io.run();
    return result.get();
  }

  TempDir dir{"sluice-users"};
  std::filesystem::path path = dir.path() / "users";
  std::chrono::steady_clock::time_point now{};
  asio::thread_pool blocking_{1};
};

TEST_F(UsersFileTest, VerifiesPasswordsAgainstTheHashes) {
  write("# devices\n" + line("scanner1", "right", "*@example.org:relay=no"));
  auto file = open();
  ASSERT_TRUE(file);
  EXPECT_EQ(verified(*file, "scanner1", "right"), "scanner1");
  EXPECT_EQ(verified(*file, "scanner1", "wrong"), "");
  EXPECT_EQ(verified(*file, "nobody", "right"), "");
  EXPECT_EQ(verified(*file, "Scanner1", "right"), "");  // names are exact
}

TEST_F(UsersFileTest, AMissingOrBadFileIsAStartUpErrorNamingIt) {
  auto missing = UsersFile::open(path);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find(path.string()), std::string::npos) << missing.error().message;
  write("just-a-name\n");
  auto bad = UsersFile::open(path);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find(path.string()), std::string::npos) << bad.error().message;
}

TEST_F(UsersFileTest, AnAddedUserWorksAfterTheNextCheckAndABadFileKeepsTheOldUsers) {
  const std::string first = line("scanner1", "one");
  write(first);
  auto file = open();
  ASSERT_TRUE(file);
  write(first + line("app", "two"));
  now += 500ms;  // within the check interval: not looked at
  EXPECT_EQ(verified(*file, "app", "two"), "");
  now += 600ms;
  EXPECT_EQ(verified(*file, "app", "two"), "app");
  EXPECT_EQ(file->loads(), 2u);
  // A file that no longer loads: the users stay as they were.
  write(first + "broken line without fields\n");
  now += 1100ms;
  EXPECT_EQ(verified(*file, "app", "two"), "app");
  EXPECT_EQ(file->loads(), 2u);
  // Gone for a moment: the same.
  std::filesystem::remove(path);
  now += 1100ms;
  EXPECT_EQ(verified(*file, "scanner1", "one"), "scanner1");
  write(first);
  now += 1100ms;
  EXPECT_EQ(verified(*file, "app", "two"), "");
  EXPECT_EQ(file->loads(), 3u);
}

TEST_F(UsersFileTest, AnAuthenticatedEntryOutlivesAReload) {
  write(line("scanner1", "one", "*@example.org:relay=no"));
  auto file = open();
  ASSERT_TRUE(file);
  std::shared_ptr<const auth::User> kept;
  {
    asio::io_context io;
    auto executor = blocking_.get_executor();
    const asio::any_io_executor blocking = executor;
    const std::string name = "scanner1", password = "one";
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { kept = co_await file->verify(name, password, blocking); }, asio::detached);
    io.run();
  }
  ASSERT_TRUE(kept);
  write(line("other", "x"));
  now += 1100ms;
  EXPECT_EQ(verified(*file, "other", "x"), "other");
  EXPECT_EQ(kept->name, "scanner1");  // still the entry the session authenticated with
  EXPECT_EQ(kept->allowed_senders, std::vector<std::string>{"*@example.org"});
  EXPECT_FALSE(kept->may_relay);
}

}  // namespace
}  // namespace sluice::inbound
