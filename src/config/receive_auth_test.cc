#include <gtest/gtest.h>

#include "config/config.h"
#include "config/config_test_util.h"

namespace sluice::config {
namespace {

/// A users_file and one [[receive_connector]] named "Devices" with the given extra keys.
std::string devices(std::string_view keys, std::string_view top = "users_file = \"/etc/sluice/users\"\n") {
  return std::string(top) + "[[receive_connector]]\nname = \"Devices\"\nlisten = [\"0.0.0.0:587\"]\n" +
         std::string(keys);
}

TEST(ReceiveAuthConfig, DefaultsAreOffWithThreeFailures) {
  const Config c = parse_config(devices(""), "x.toml");
  EXPECT_EQ(c.users_file, "/etc/sluice/users");
  const ReceiveConnector& d = c.receive_connectors.front();
  EXPECT_FALSE(d.auth);
  EXPECT_FALSE(d.allow_plaintext_auth);
  EXPECT_EQ(d.max_auth_failures, 3u);
  EXPECT_TRUE(parse_config("", "x.toml").users_file.empty());
}

TEST(ReceiveAuthConfig, ReadsAuthKeys) {
  const Config c = parse_config(devices("auth = true\nmax_auth_failures = 5\nrelay = \"authenticated\"\n"), "x.toml");
  const ReceiveConnector& d = c.receive_connectors.front();
  EXPECT_TRUE(d.auth);
  EXPECT_EQ(d.max_auth_failures, 5u);
  EXPECT_EQ(d.relay, RelayPermission::Authenticated);
}

TEST(ReceiveAuthConfig, PlaintextAuthOnlyFromKnownNetworks) {
  const Config c = parse_config(
      devices("auth = true\nallow_plaintext_auth = true\nremote_ranges = [\"192.168.10.0/24\", \"fd00::/8\"]\n"),
      "x.toml");
  EXPECT_TRUE(c.receive_connectors.front().allow_plaintext_auth);
  EXPECT_CONFIG_ERROR(devices("auth = true\nallow_plaintext_auth = true\n"),
                      "sluice.toml: line 6: receive_connector[0].allow_plaintext_auth: passwords in plaintext are "
                      "accepted only from known networks, and remote_ranges includes 0.0.0.0/0 (the whole Internet)");
  EXPECT_CONFIG_ERROR(devices("auth = true\nremote_ranges = [\"10.0.0.0/8\", \"::/0\"]\nallow_plaintext_auth = true\n"),
                      "remote_ranges includes ::/0 (the whole Internet)");
  // false is always fine, whatever the ranges.
  EXPECT_FALSE(parse_config(devices("auth = true\nallow_plaintext_auth = false\n"), "x.toml")
                   .receive_connectors.front()
                   .allow_plaintext_auth);
}

TEST(ReceiveAuthConfigErrors, Values) {
  EXPECT_CONFIG_ERROR(devices("auth = true\n", ""),
                      "sluice.toml: line 4: receive_connector[0].auth: auth = true needs the top-level users_file");
  EXPECT_CONFIG_ERROR(devices("auth = \"yes\"\n"), "receive_connector[0].auth: expected a boolean");
  EXPECT_CONFIG_ERROR(devices("auth = true\nmax_auth_failures = 0\n"), "receive_connector[0].max_auth_failures");
  EXPECT_CONFIG_ERROR(devices("max_auth_failures = 2\n"),
                      "receive_connector[0].max_auth_failures: has no effect without auth = true");
  EXPECT_CONFIG_ERROR(devices("remote_ranges = [\"10.0.0.0/8\"]\nallow_plaintext_auth = true\n"),
                      "receive_connector[0].allow_plaintext_auth: has no effect without auth = true");
  EXPECT_CONFIG_ERROR(devices("", "users_file = \"\"\n"), "users_file");
  EXPECT_CONFIG_ERROR(devices("", "users_file = 3\n"), "users_file");
  EXPECT_CONFIG_ERROR(devices("auth_plaintext = true\n"), "receive_connector[0]");
}

}  // namespace
}  // namespace sluice::config
