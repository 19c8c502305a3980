#include "base/account.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace sluice {
namespace {

TEST(AccountName, AcceptsWhatUseraddAccepts) {
  for (const char* name : {"sluice", "_sluice", "mail-gw", "svc.mail", "u1", "A"})
    EXPECT_TRUE(check_account_name(name)) << name;
}

TEST(AccountName, RefusesWhatCannotBeAUser) {
  EXPECT_FALSE(check_account_name(""));
  EXPECT_FALSE(check_account_name("-sluice"));
  EXPECT_FALSE(check_account_name("slu ice"));
  EXPECT_FALSE(check_account_name("root:0"));
  EXPECT_FALSE(check_account_name("../etc"));
  EXPECT_FALSE(check_account_name(std::string(33, 'a')));
  EXPECT_NE(check_account_name("a/b").error().message.find("letters, digits"), std::string::npos);
}

TEST(FindAccount, RootIsUidZeroWithItsGroups) {
  auto root = find_account("root");
  ASSERT_TRUE(root) << root.error().message;
  EXPECT_EQ(root->uid, 0u);
  EXPECT_EQ(root->gid, 0u);
  ASSERT_FALSE(root->groups.empty());
  EXPECT_EQ(root->groups.front(), 0u);  // getgrouplist puts the primary group first
}

TEST(FindAccount, AMissingUserNamesItAndHowToCreateIt) {
  auto missing = find_account("sluice-no-such-user-x");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("user \"sluice-no-such-user-x\" does not exist"), std::string::npos)
      << missing.error().message;
  EXPECT_NE(missing.error().message.find("useradd --system"), std::string::npos) << missing.error().message;
}

TEST(FindAccount, EffectiveUserNameIsTheProcesssUser) {
  auto self = find_account(effective_user_name());
  ASSERT_TRUE(self) << self.error().message;
  EXPECT_EQ(self->uid, ::geteuid());
}

}  // namespace
}  // namespace sluice
