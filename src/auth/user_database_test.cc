#include "auth/user_database.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>

#include "auth/known_hashes_test_util.h"
#include "auth/user_fields.h"
#include "base/temp_dir_test_util.h"

namespace sluice::auth {
namespace {

namespace fs = std::filesystem;

constexpr const char* kHash = test_util::kOpensslSha512;
using test_util::kYescrypt;

User named(const std::string& name, const std::string& hash) {
  User user;
  user.name = name;
  user.password_hash = hash;
  return user;
}

class UserDatabaseTest : public ::testing::Test {
 protected:
  fs::path write(const std::string& text) {
    fs::path file = dir_.path() / "users";
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }
  std::string read(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }
  // The error of loading a file of `lines`, which must fail.
  std::string load_error(const std::string& lines) {
    auto loaded = UserDatabase::load(write(lines));
    EXPECT_FALSE(loaded.ok()) << lines;
    return loaded.ok() ? "" : loaded.error().message;
  }
  std::string line(const std::string& name, const std::string& senders, const std::string& options) {
    return name + ":" + kHash + ":" + senders + ":" + options + "\n";
  }

  sluice::test_util::TempDir dir_{"sluice-users"};
};

TEST_F(UserDatabaseTest, ReadsEveryFieldAndSkipsCommentsAndBlankLines) {
  auto loaded = UserDatabase::load(write(
      "# devices\n\n   \n  # indented comment\n" +
      line("scanner1", "*@contoso.com,app@Contoso.com",
           "relay=no  rate=100/1h rewrite=*@printer.local>scanner@contoso.com rewrite=root@localhost>ops@contoso.com") +
      std::string("app2:") + kYescrypt + "::\r\n"));
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded->users().size(), 2u);
  const User* scanner = loaded->find("scanner1");
  ASSERT_NE(scanner, nullptr);
  EXPECT_EQ(scanner->password_hash, kHash);
  EXPECT_EQ(scanner->allowed_senders, (std::vector<std::string>{"*@contoso.com", "app@Contoso.com"}));
  EXPECT_FALSE(scanner->may_relay);
  ASSERT_TRUE(scanner->rate.has_value());
  EXPECT_EQ(scanner->rate->messages, 100u);
  EXPECT_EQ(scanner->rate->per, std::chrono::hours(1));
  ASSERT_EQ(scanner->rewrite_senders.size(), 2u);
  EXPECT_EQ(scanner->rewrite_senders[0].pattern, "*@printer.local");
  EXPECT_EQ(scanner->rewrite_senders[0].replacement, "scanner@contoso.com");
  EXPECT_EQ(scanner->rewrite_senders[1].pattern, "root@localhost");
  EXPECT_EQ(scanner->rewrite_senders[1].replacement, "ops@contoso.com");

  const User* app = loaded->find("app2");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->password_hash, kYescrypt);  // the CR of a CRLF line is not part of the hash
  EXPECT_TRUE(app->allowed_senders.empty());
  EXPECT_TRUE(app->may_relay);
  EXPECT_FALSE(app->rate.has_value());
  EXPECT_TRUE(app->rewrite_senders.empty());
  EXPECT_EQ(loaded->find("App2"), nullptr);  // names are exact
}

TEST_F(UserDatabaseTest, SaveThenLoadGivesTheSameUsers) {
  UserDatabase database;
  User scanner{"scanner1",
               kYescrypt,
               {"*@contoso.com", "ops@contoso.com"},
               false,
               RateLimit{5, std::chrono::minutes(90)},
               {{"*@printer.local", "scanner@contoso.com"}, {"root@localhost", "ops@contoso.com"}}};
  User app{"app@contoso.com", kHash, {}, true, std::nullopt, {}};
  database.put(scanner);
  database.put(app);
  fs::path file = dir_.path() / "users";
  ASSERT_TRUE(database.save(file).ok());
  EXPECT_NE(read(file).find("rate=5/90m"), std::string::npos) << read(file);

  auto loaded = UserDatabase::load(file);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded->users().size(), 2u);
  for (const User* expected : {&scanner, &app}) {
    const User* got = loaded->find(expected->name);
    ASSERT_NE(got, nullptr) << expected->name;
    EXPECT_EQ(got->password_hash, expected->password_hash);
    EXPECT_EQ(got->allowed_senders, expected->allowed_senders);
    EXPECT_EQ(got->may_relay, expected->may_relay);
    EXPECT_EQ(got->rate.has_value(), expected->rate.has_value());
    if (got->rate) {
      EXPECT_EQ(got->rate->messages, expected->rate->messages);
      EXPECT_EQ(got->rate->per, expected->rate->per);
    }
    ASSERT_EQ(got->rewrite_senders.size(), expected->rewrite_senders.size());
    for (std::size_t i = 0; i < got->rewrite_senders.size(); ++i) {
      EXPECT_EQ(got->rewrite_senders[i].pattern, expected->rewrite_senders[i].pattern);
      EXPECT_EQ(got->rewrite_senders[i].replacement, expected->rewrite_senders[i].replacement);
    }
  }
}

TEST_F(UserDatabaseTest, SaveWritesModeOwnerOnlyAndReplacesAtomically) {
  fs::path file = write("old:" + std::string(kHash) + "::\n");
  ASSERT_EQ(::chmod(file.c_str(), 0644), 0);
  ::mode_t old_umask = ::umask(0);  // the mode must not come from the umask
  UserDatabase database;
  database.put(named("new", kHash));
  auto saved = database.save(file);
  ::umask(old_umask);
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(read(file).find("old:"), std::string::npos);
  EXPECT_NE(read(file).find("new:"), std::string::npos);
  // Nothing left beside it: the temporary file was renamed into place.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_.path())) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST_F(UserDatabaseTest, SaveRefusesAUserItCouldNotReadBack) {
  fs::path file = write("keep:" + std::string(kHash) + "::\n");
  UserDatabase database;
  database.put(named("bad name", kHash));
  auto saved = database.save(file);
  ASSERT_FALSE(saved.ok());
  EXPECT_NE(saved.error().message.find("bad name"), std::string::npos) << saved.error().message;
  EXPECT_NE(read(file).find("keep:"), std::string::npos);  // the file as it was

  UserDatabase plaintext;
  plaintext.put(named("app", "hunter2"));
  auto refused = plaintext.save(file);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message.find("hunter2"), std::string::npos) << refused.error().message;
}

TEST_F(UserDatabaseTest, SaveInAMissingDirectoryFailsNamingTheFile) {
  UserDatabase database;
  auto saved = database.save(dir_.path() / "absent" / "users");
  ASSERT_FALSE(saved.ok());
  EXPECT_NE(saved.error().message.find("absent/users"), std::string::npos) << saved.error().message;
}

TEST_F(UserDatabaseTest, MissingFileIsAnErrorNamingIt) {
  auto loaded = UserDatabase::load(dir_.path() / "nope");
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("nope"), std::string::npos);
}

TEST_F(UserDatabaseTest, EveryBadLineIsNamedByFileAndLineNumber) {
  const std::string good = line("ok", "", "");
  struct Case {
    std::string bad_line;
    std::string says;
  };
  const Case cases[] = {
      {"scanner1:" + std::string(kHash) + ":*@contoso.com\n", "3 fields"},
      {line("scanner1", "a@b.c", "relay=no:extra"), "5 fields"},
      {line("", "", ""), "user name is empty"},
      {line("scan ner", "", ""), "contains a space"},
      {"scanner1:plaintext-password::\n", "not a crypt(3) hash"},
      {"scanner1:$1$saltsalt$abcdefghijklmnopqrstuv::\n", "legacy"},
      {line("scanner1", "contoso.com", ""), "not of the form local@domain"},
      {line("scanner1", "a@x.com,,b@x.com", ""), "sender pattern is empty"},
      {line("scanner1", "a*@x.com", ""), "'*' only as the whole local part"},
      {line("scanner1", "", "relay=maybe"), "relay=\"maybe\": expected yes or no"},
      {line("scanner1", "", "quota=5"), "unknown option \"quota=5\""},
      {line("scanner1", "", "relay"), "unknown option \"relay\""},
      {line("scanner1", "", "relay=no relay=yes"), "option relay given twice"},
      {line("scanner1", "", "rate=100"), "rate \"100\" is not"},
      {line("scanner1", "", "rate=0/1h"), "at least 1"},
      {line("scanner1", "", "rate=10/1y"), "rate \"10/1y\" is not"},
      {line("scanner1", "", "rate=-1/1h"), "is not"},
      {line("scanner1", "", "rate=1/1h rate=2/1h"), "option rate given twice"},
      {line("scanner1", "", "rewrite=*@printer.local"), "rewrite \"*@printer.local\" is not"},
      {line("scanner1", "", "rewrite=*@printer.local>*@contoso.com"), "without '*'"},
      {line("scanner1", "", "rewrite=printer.local>a@contoso.com"), "rewrite: sender pattern"},
      {line("scanner1", "", "rewrite=*@printer.local>contoso.com"), "rewrite address"},
  };
  for (const auto& c : cases) {
    std::string message = load_error("# users\n" + good + c.bad_line);
    EXPECT_NE(message.find("users: line 3: "), std::string::npos) << c.bad_line << " -> " << message;
    EXPECT_NE(message.find(c.says), std::string::npos) << c.bad_line << " -> " << message;
  }
  // A name starting with '#' would make its own line a comment: only the rule for names stops it
  // from being written (a line starting with '#' in the file is a comment, as documented).
  auto hash_name = check_user_name("#scanner");
  ASSERT_FALSE(hash_name.ok());
  EXPECT_NE(hash_name.error().message.find("starts with '#'"), std::string::npos);
  EXPECT_FALSE(check_user_name("a:b").ok());
  EXPECT_FALSE(check_user_name("a\tb").ok());
}

TEST_F(UserDatabaseTest, DuplicateUserNamesBothLines) {
  std::string message = load_error(line("scanner1", "", "") + "\n" + line("scanner1", "", "relay=no"));
  EXPECT_NE(message.find("users: line 3: user \"scanner1\" is already on line 1"), std::string::npos) << message;
}

TEST_F(UserDatabaseTest, BadHashErrorDoesNotQuoteIt) {
  std::string message = load_error("scanner1:Sup3rSecret!::\n");
  EXPECT_EQ(message.find("Sup3rSecret"), std::string::npos) << message;
}

TEST_F(UserDatabaseTest, PutReplacesAndRemoveReports) {
  UserDatabase database;
  database.put(named("a", kHash));
  database.put(named("b", kHash));
  database.put(named("a", kYescrypt));
  ASSERT_EQ(database.users().size(), 2u);
  EXPECT_EQ(database.find("a")->password_hash, kYescrypt);
  EXPECT_TRUE(database.remove("a"));
  EXPECT_FALSE(database.remove("a"));
  EXPECT_EQ(database.find("a"), nullptr);
  EXPECT_NE(database.find("b"), nullptr);
}

TEST(RateText, FormatReadsBack) {
  for (const char* text : {"100/1h", "5/90m", "1/1d", "7/45s", "3/25h"}) {
    auto rate = parse_rate(text);
    ASSERT_TRUE(rate.ok()) << text;
    EXPECT_EQ(format_rate(*rate), text);
  }
  EXPECT_EQ(parse_rate("10/1h30m")->per, std::chrono::minutes(90));
  EXPECT_EQ(format_rate(*parse_rate("10/1h30m")), "10/90m");
}

}  // namespace
}  // namespace sluice::auth
