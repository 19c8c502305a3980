#include "base/ids.h"

#include <gtest/gtest.h>

#include <set>

namespace sluice {
namespace {

TEST(HexId, SixteenUpperCaseHexDigitsLikeExchangeSessionIds) {
  std::string id = new_hex_id();
  ASSERT_EQ(id.size(), 16u);
  EXPECT_EQ(id.find_first_not_of("0123456789ABCDEF"), std::string::npos) << id;
}

TEST(HexId, StrictlyIncreasingAndUnique) {
  std::string previous = new_hex_id();
  std::set<std::string> seen{previous};
  for (int i = 0; i < 10000; ++i) {
    std::string id = new_hex_id();
    EXPECT_GT(id, previous);
    EXPECT_TRUE(seen.insert(id).second);
    previous = id;
  }
}

}  // namespace
}  // namespace sluice
