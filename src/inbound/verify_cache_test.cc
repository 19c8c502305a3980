#include "inbound/verify_cache.h"

#include <gtest/gtest.h>

namespace sluice::inbound {
namespace {

using namespace std::chrono_literals;
using TimePoint = VerifyCache::TimePoint;

TEST(VerifyCache, PositiveAndNegativeAnswersHaveTheirOwnLifetimes) {
  VerifyCache cache(7 * 24h, 3h, 100);
  const TimePoint t0{};
  cache.store("known@corp.test", AddressStatus::Exists, t0);
  cache.store("nobody@corp.test", AddressStatus::Unknown, t0);
  EXPECT_EQ(cache.find("known@corp.test", t0 + 3h), AddressStatus::Exists);
  EXPECT_EQ(cache.find("nobody@corp.test", t0 + 3h - 1s), AddressStatus::Unknown);
  EXPECT_EQ(cache.find("nobody@corp.test", t0 + 3h), std::nullopt);
  EXPECT_EQ(cache.find("known@corp.test", t0 + 7 * 24h - 1s), AddressStatus::Exists);
  EXPECT_EQ(cache.find("known@corp.test", t0 + 7 * 24h), std::nullopt);
  EXPECT_EQ(cache.size(), 0u);  // expired entries go when found expired
}

TEST(VerifyCache, ANewAnswerReplacesTheOldOne) {
  VerifyCache cache(24h, 1h, 100);
  const TimePoint t0{};
  cache.store("a@corp.test", AddressStatus::Unknown, t0);
  cache.store("a@corp.test", AddressStatus::Exists, t0 + 30min);
  EXPECT_EQ(cache.find("a@corp.test", t0 + 2h), AddressStatus::Exists);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(VerifyCache, ZeroLifetimeRemembersNothing) {
  VerifyCache cache(24h, 0s, 100);
  cache.store("a@corp.test", AddressStatus::Exists, TimePoint{});
  cache.store("a@corp.test", AddressStatus::Unknown, TimePoint{});
  EXPECT_EQ(cache.find("a@corp.test", TimePoint{}), std::nullopt);
}

TEST(VerifyCache, FullCacheDropsTheLeastRecentlyUsed) {
  VerifyCache cache(24h, 24h, 3);
  const TimePoint t0{};
  cache.store("a", AddressStatus::Exists, t0);
  cache.store("b", AddressStatus::Exists, t0);
  cache.store("c", AddressStatus::Exists, t0);
  EXPECT_TRUE(cache.find("a", t0));  // a is now the most recently used; b the least
  cache.store("d", AddressStatus::Unknown, t0);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.find("b", t0), std::nullopt);
  EXPECT_EQ(cache.find("a", t0), AddressStatus::Exists);
  EXPECT_EQ(cache.find("c", t0), AddressStatus::Exists);
  EXPECT_EQ(cache.find("d", t0), AddressStatus::Unknown);
}

}  // namespace
}  // namespace sluice::inbound
