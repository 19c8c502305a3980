#include "base/heap_trim.h"

#include <gtest/gtest.h>

#include <vector>

namespace sluice {
namespace {

/// The live counts at which the policy says to trim, fed one count after another.
std::vector<std::size_t> trims_along(HeapTrimPolicy& policy, const std::vector<std::size_t>& counts) {
  std::vector<std::size_t> out;
  for (auto live : counts)
    if (policy.sessions_now(live)) out.push_back(live);
  return out;
}

std::vector<std::size_t> rise_then_fall(std::size_t peak) {
  std::vector<std::size_t> counts;
  for (std::size_t n = 1; n <= peak; ++n) counts.push_back(n);
  for (std::size_t n = peak; n-- > 0;) counts.push_back(n);
  return counts;
}

TEST(HeapTrimPolicy, TrimsEachTimeTheLoadHalvesByEnough) {
  HeapTrimPolicy policy(64);
  EXPECT_EQ(trims_along(policy, rise_then_fall(1000)), (std::vector<std::size_t>{500, 250, 125, 61}));
}

TEST(HeapTrimPolicy, AFewSessionsComingAndGoingNeverTrim) {
  HeapTrimPolicy policy(64);
  std::vector<std::size_t> counts;
  for (int round = 0; round < 100; ++round)
    for (std::size_t n : {1, 2, 40, 63, 10, 0}) counts.push_back(n);
  EXPECT_TRUE(trims_along(policy, counts).empty());
}

TEST(HeapTrimPolicy, ASecondLoadTrimsAgain) {
  HeapTrimPolicy policy(64);
  auto counts = rise_then_fall(200);
  auto second = rise_then_fall(300);
  counts.insert(counts.end(), second.begin(), second.end());
  EXPECT_EQ(trims_along(policy, counts), (std::vector<std::size_t>{100, 36, 150, 75, 11}));
}

}  // namespace
}  // namespace sluice
