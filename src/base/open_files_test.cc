#include "base/open_files.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace sluice {
namespace {

TEST(SessionsWithin, WhatIsLeftAfterTheOpenOnesAndTheRestOfTheGateway) {
  EXPECT_EQ(sessions_within(65536, 30, 100), (65536u - 30 - 100 - kDescriptorsBesidesSessions) / 2);
  EXPECT_EQ(sessions_within(1024, 24, 10), (1024u - 24 - 10 - kDescriptorsBesidesSessions) / 2);
}

TEST(SessionsWithin, ALowLimitStillGivesHalfOfWhatIsFreeToSessions) {
  EXPECT_EQ(sessions_within(200, 40, 100), 40u);
  EXPECT_EQ(sessions_within(41, 40, 100), 1u);
  EXPECT_EQ(sessions_within(40, 40, 100), 1u);
  EXPECT_EQ(sessions_within(10, 40, 100), 1u);
}

TEST(SessionsWithin, DescriptorsForIsItsInverse) {
  // The hard limit the start-up warning asks for holds max_connections sessions, two descriptors each.
  EXPECT_EQ(descriptors_for(10000, 30, 100), 2u * 10000 + 30 + 100 + kDescriptorsBesidesSessions);
  EXPECT_EQ(sessions_within(descriptors_for(10000, 30, 100), 30, 100), 10000u);
}

TEST(OpenDescriptors, CountsADescriptorOpenedAndClosed) {
  std::size_t before = open_descriptors();
  ASSERT_GT(before, 2u);  // at least stdin, stdout and stderr
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(open_descriptors(), before + 1);
  ::close(fd);
  EXPECT_EQ(open_descriptors(), before);
}

}  // namespace
}  // namespace sluice
