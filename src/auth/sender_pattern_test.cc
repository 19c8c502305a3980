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
}

}  // namespace
}  // namespace sluice::auth
