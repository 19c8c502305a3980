#include <gtest/gtest.h>

#include <string>

#include "auth/known_hashes_test_util.h"
#include "auth/user_database.h"
#include "auth/user_fields.h"

namespace sluice::auth {
namespace {

using test_util::kOpensslSha512;
using test_util::kYescrypt;

TEST(PasswordHash, Sha512CryptFromOpensslVerifies) {
  EXPECT_TRUE(verify_password("Scanner#2026", kOpensslSha512));
  EXPECT_FALSE(verify_password("Scanner#2025", kOpensslSha512));
  EXPECT_FALSE(verify_password("", kOpensslSha512));
}

TEST(PasswordHash, YescryptVerifies) {
  EXPECT_TRUE(verify_password("printer pass", kYescrypt));
  EXPECT_FALSE(verify_password("printer Pass", kYescrypt));
  EXPECT_FALSE(verify_password("printer pass ", kYescrypt));
}

TEST(PasswordHash, AlteredHashDoesNotVerify) {
  std::string hash = kYescrypt;
  hash[hash.size() - 2] = hash[hash.size() - 2] == 'z' ? 'y' : 'z';
  EXPECT_FALSE(verify_password("printer pass", hash));
  EXPECT_FALSE(verify_password("printer pass", hash.substr(0, hash.size() - 1)));
}

TEST(PasswordHash, NoHashOrGarbageNeverVerifies) {
  EXPECT_FALSE(verify_password("", ""));
  EXPECT_FALSE(verify_password("x", "*"));
  EXPECT_FALSE(verify_password("x", "!locked"));
  EXPECT_FALSE(verify_password(std::string("printer pass\0tail", 17), kYescrypt));
}

TEST(PasswordHash, NewHashIsYescryptWithFreshSaltAndVerifies) {
  auto first = hash_password("correct horse");
  auto second = hash_password("correct horse");
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_TRUE(first->starts_with("$y$")) << *first;
  EXPECT_NE(*first, *second);  // a fresh salt each time
  EXPECT_TRUE(verify_password("correct horse", *first));
  EXPECT_TRUE(verify_password("correct horse", *second));
  EXPECT_FALSE(verify_password("correct horsE", *first));
  EXPECT_EQ(first->find("correct"), std::string::npos);
  EXPECT_TRUE(check_password_hash(*first).ok());
}

TEST(PasswordHash, PasswordsCryptCannotTakeAreRefused) {
  auto with_nul = hash_password(std::string("a\0b", 3));
  ASSERT_FALSE(with_nul.ok());
  EXPECT_NE(with_nul.error().message.find("NUL"), std::string::npos);
  auto too_long = hash_password(std::string(600, 'x'));
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.error().message.find("longer than 511"), std::string::npos);
  EXPECT_TRUE(hash_password(std::string(511, 'x')).ok());
}

TEST(PasswordHash, CryptFormCheck) {
  EXPECT_TRUE(check_password_hash(kOpensslSha512).ok());
  EXPECT_TRUE(check_password_hash(kYescrypt).ok());
  EXPECT_TRUE(check_password_hash("$6$rounds=10000$salt$abcdefghijklmnop").ok());
  for (const char* bad : {"", "secret", "$y$", "$6$salt$", "$6$$", "$y$j9T$sa:lt$x", "$y$j9T$salt$ab cd",
                          "$zz$salt$abc", "!$6$salt$abc"}) {
    auto result = check_password_hash(bad);
    ASSERT_FALSE(result.ok()) << bad;
    EXPECT_NE(result.error().message.find("not a crypt(3) hash"), std::string::npos) << result.error().message;
  }
  auto md5 = check_password_hash("$1$saltsalt$abcdefghijklmnopqrstuv");
  ASSERT_FALSE(md5.ok());
  EXPECT_NE(md5.error().message.find("legacy"), std::string::npos) << md5.error().message;
}

}  // namespace
}  // namespace sluice::auth
