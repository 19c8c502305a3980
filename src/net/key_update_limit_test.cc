#include "net/key_update_limit.h"

#include <gtest/gtest.h>

namespace sluice::net {
namespace {

using std::chrono::seconds;

struct KeyUpdateLimitTest : ::testing::Test {
  std::chrono::steady_clock::time_point now{};
  KeyUpdateLimit limit{[this] { return now; }};

  /// How many KeyUpdates in a row are allowed, `gap` apart, before the first refusal (at most 1000).
  int allowed_in_a_row(std::chrono::steady_clock::duration gap) {
    for (int n = 0; n < 1000; ++n, now += gap)
      if (!limit.received()) return n;
    return 1000;
  }
};

TEST_F(KeyUpdateLimitTest, TheOneAfterTheLimitWithinAMinuteIsRefused) {
  EXPECT_EQ(allowed_in_a_row(seconds(0)), kMaxKeyUpdatesPerMinute);
}

TEST_F(KeyUpdateLimitTest, TheLimitIsPerMinuteNotPerConnection) {
  ASSERT_EQ(allowed_in_a_row(seconds(1)), kMaxKeyUpdatesPerMinute);
  now += seconds(60);
  EXPECT_EQ(allowed_in_a_row(seconds(0)), kMaxKeyUpdatesPerMinute);
}

TEST_F(KeyUpdateLimitTest, OneEverySixSecondsIsNeverRefused) {
  EXPECT_EQ(allowed_in_a_row(seconds(60) / kMaxKeyUpdatesPerMinute), 1000);
}

TEST(ReceivedKeyUpdate, OnlyAnIncomingHandshakeMessageOfType24) {
  const unsigned char key_update[] = {SSL3_MT_KEY_UPDATE, 0, 0, 1, 1};
  const unsigned char finished[] = {SSL3_MT_FINISHED, 0, 0, 0};
  EXPECT_TRUE(is_received_key_update(0, SSL3_RT_HANDSHAKE, key_update, sizeof key_update));
  EXPECT_FALSE(is_received_key_update(1, SSL3_RT_HANDSHAKE, key_update, sizeof key_update));  // our own
  EXPECT_FALSE(is_received_key_update(0, SSL3_RT_APPLICATION_DATA, key_update, sizeof key_update));
  EXPECT_FALSE(is_received_key_update(0, SSL3_RT_HANDSHAKE, finished, sizeof finished));
  EXPECT_FALSE(is_received_key_update(0, SSL3_RT_HANDSHAKE, key_update, 0));
}

}  // namespace
}  // namespace sluice::net
