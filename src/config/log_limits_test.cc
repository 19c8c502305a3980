#include <gtest/gtest.h>

#include "config/config.h"
#include "config/config_test_util.h"

namespace sluice::config {
namespace {

using std::chrono::hours;
using std::chrono::seconds;
constexpr auto kDay = hours(24);

Config parse(std::string_view text) { return parse_config(text, "sluice.toml"); }

TEST(LogLimitsConfig, ExchangesDefaults) {
  const Config c = parse("");
  for (const LogLimits& limits : {c.protocol_log.receive, c.protocol_log.send}) {
    EXPECT_EQ(limits.max_file_size, 10u << 20);
    EXPECT_EQ(limits.max_age, 30 * kDay);
    EXPECT_EQ(limits.max_directory_size, 250u << 20);
  }
  EXPECT_EQ(c.message_tracking.limits.max_file_size, 10u << 20);
  EXPECT_EQ(c.message_tracking.limits.max_age, 30 * kDay);
  EXPECT_EQ(c.message_tracking.limits.max_directory_size, 1000u << 20);
}

TEST(LogLimitsConfig, BothDirectionsThenEachOverriddenKeyByKey) {
  const Config c = parse(
      "[protocol_log]\nmax_file_size = \"5MB\"\nmax_age = \"7d\"\nmax_directory_size = \"1GB\"\n"
      "[protocol_log.receive]\nmax_directory_size = \"2 gb\"\n"
      "[protocol_log.send]\nmax_age = \"unlimited\"\nmax_file_size = 65536\n");
  EXPECT_EQ(c.protocol_log.receive.max_file_size, 5u << 20);
  EXPECT_EQ(c.protocol_log.receive.max_age, 7 * kDay);
  EXPECT_EQ(c.protocol_log.receive.max_directory_size, 2ull << 30);
  EXPECT_EQ(c.protocol_log.send.max_file_size, 65536u);
  EXPECT_EQ(c.protocol_log.send.max_age, seconds(0));
  EXPECT_EQ(c.protocol_log.send.max_directory_size, 1u << 30);
}

TEST(LogLimitsConfig, SizesAndAgesAsAnAdministratorWritesThem) {
  const Config c =
      parse("[message_tracking]\nmax_file_size = \"512KB\"\nmax_age = \"1d12h\"\nmax_directory_size = \"unlimited\"\n");
  EXPECT_EQ(c.message_tracking.limits.max_file_size, 512u << 10);
  EXPECT_EQ(c.message_tracking.limits.max_age, 36 * hours(1));
  EXPECT_EQ(c.message_tracking.limits.max_directory_size, 0u);
  EXPECT_EQ(parse("[protocol_log]\nmax_age = 3600\n").protocol_log.receive.max_age, seconds(3600));
  EXPECT_EQ(parse("[protocol_log]\nmax_file_size = \"100B\"\n").protocol_log.send.max_file_size, 100u);
}

TEST(LogLimitsConfig, Errors) {
  EXPECT_CONFIG_ERROR("[protocol_log]\nmax_dir_size = 1\n", "protocol_log: unknown key 'max_dir_size'");
  EXPECT_CONFIG_ERROR("[protocol_log.recieve]\nmax_age = \"1d\"\n",
                      "protocol_log: unknown key 'recieve' (did you mean 'receive'?)");
  EXPECT_CONFIG_ERROR("[protocol_log.send]\nenabled = false\n", "protocol_log.send: unknown key 'enabled'");
  EXPECT_CONFIG_ERROR("[protocol_log]\nmax_file_size = \"10 MiB\"\n",
                      "line 2: protocol_log.max_file_size: \"10 MiB\" is not a size; write bytes (10485760) or a size "
                      "such as \"10MB\" (units B, KB, MB, GB, TB)");
  EXPECT_CONFIG_ERROR("[protocol_log]\nmax_file_size = \"unlimited\"\n", "protocol_log.max_file_size: \"unlimited\"");
  EXPECT_CONFIG_ERROR("[protocol_log]\nmax_file_size = 0\n", "protocol_log.max_file_size: must be greater than 0");
  EXPECT_CONFIG_ERROR("[protocol_log]\nmax_directory_size = \"0MB\"\n",
                      "protocol_log.max_directory_size: must be greater than 0");
  EXPECT_CONFIG_ERROR("[protocol_log]\nmax_directory_size = \"99999999999999TB\"\n",
                      "protocol_log.max_directory_size: \"99999999999999TB\" is not a size");
  EXPECT_CONFIG_ERROR("[protocol_log]\nmax_age = \"30 days\"\n",
                      "protocol_log.max_age: \"30 days\" is not an age; write a string such as \"30d\"");
  EXPECT_CONFIG_ERROR("[protocol_log]\nmax_age = \"0d\"\n",
                      "protocol_log.max_age: must be greater than 0 (\"unlimited\" keeps files whatever their age)");
  EXPECT_CONFIG_ERROR("[protocol_log]\nmax_age = \"30000d\"\n",
                      "protocol_log.max_age: must not be longer than 24855 days");
  EXPECT_CONFIG_ERROR("[protocol_log]\nmax_age = true\n",
                      "protocol_log.max_age: expected whole seconds or a string such as \"30d\", or \"unlimited\", "
                      "got a boolean");
  EXPECT_CONFIG_ERROR("[protocol_log.receive]\nmax_file_size = \"20MB\"\nmax_directory_size = \"10MB\"\n",
                      "protocol_log.receive: max_file_size (20971520 bytes) is larger than max_directory_size "
                      "(10485760 bytes)");
  EXPECT_CONFIG_ERROR("[message_tracking]\nmax_age = \"1w\"\n", "message_tracking.max_age: \"1w\" is not an age");
  EXPECT_CONFIG_ERROR("protocol_log = \"big\"\n", "protocol_log: expected a table");
}

}  // namespace
}  // namespace sluice::config
