#include "auth/sender_pattern.h"

#include <gtest/gtest.h>

namespace sluice::auth {
namespace {

TEST(SenderPattern, ExactAddressAndDomainWildcardIgnoreCase) {
  EXPECT_TRUE(sender_pattern_matches("root@localhost", "ROOT@LocalHost"));
  EXPECT_FALSE(sender_pattern_matches("root@localhost", "root2@localhost"));
  EXPECT_FALSE(sender_pattern_matches("root@localhost", "root@localhost.example"));
  EXPECT_TRUE(sender_pattern_matches("*@printer.local", "Scan-1@PRINTER.local"));
  // A domain pattern names that domain only: not its subdomains, not a suffix.
  EXPECT_FALSE(sender_pattern_matches("*@printer.local", "a@floor2.printer.local"));
  EXPECT_FALSE(sender_pattern_matches("*@printer.local", "a@myprinter.local"));
  EXPECT_FALSE(sender_pattern_matches("*@printer.local", "printer.local"));
  // Without a local part it is no address of the domain.
  EXPECT_FALSE(sender_pattern_matches("*@printer.local", "@printer.local"));
}

TEST(SenderPattern, AnyOfAUsersAllowedSenders) {
  const std::vector<std::string> patterns{"*@Contoso.com", "App@fabrikam.com"};
  EXPECT_TRUE(sender_matches(patterns, "scanner@contoso.com"));
  EXPECT_TRUE(sender_matches(patterns, "SCANNER@CONTOSO.COM"));
  EXPECT_TRUE(sender_matches(patterns, "app@FABRIKAM.com"));
  EXPECT_FALSE(sender_matches(patterns, "other@fabrikam.com"));
  EXPECT_FALSE(sender_matches(patterns, "a@sub.contoso.com"));
  EXPECT_FALSE(sender_matches(patterns, "a@contoso.com.evil"));
  EXPECT_FALSE(sender_matches(patterns, "@contoso.com"));
  EXPECT_FALSE(sender_matches(patterns, "contoso.com"));
  EXPECT_FALSE(sender_matches(patterns, ""));
  EXPECT_FALSE(sender_matches({}, "scanner@contoso.com"));
}

}  // namespace
}  // namespace sluice::auth
