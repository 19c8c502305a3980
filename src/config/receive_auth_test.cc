#include <gtest/gtest.h>

#include "config/config.h"
#include "config/config_test_util.h"

namespace sluice::config {
namespace {

/// A users_file and one [[receive_connector]] named "Devices" with the given extra keys.
std::string auth_connector_config(std::string_view keys,
                                  std::string_view top = "users_file = \"/etc/sluice/users\"\n") {
  return std::string(top) + "[[receive_connector]]\nname = \"Devices\"\nlisten = [\"0.0.0.0:587\"]\n" +
         std::string(keys);
}

TEST(ReceiveAuthConfig, DefaultsAreOffWithThreeFailures) {
  const Config c = parse_config(auth_connector_config(""), "x.toml");
  EXPECT_EQ(c.users_file, "/etc/sluice/users");
  const ReceiveConnector& d = c.receive_connectors.front();
  EXPECT_FALSE(d.auth);
  EXPECT_FALSE(d.allow_plaintext_auth);
  EXPECT_EQ(d.max_auth_failures, 3u);
  EXPECT_EQ(d.auth_mechanisms, (std::vector{ReceiveAuthMechanism::Plain, ReceiveAuthMechanism::Login}));
  EXPECT_TRUE(parse_config("", "x.toml").users_file.empty());
}

TEST(ReceiveAuthConfig, ReadsAuthKeys) {
  const Config c =
      parse_config(auth_connector_config("auth = true\nmax_auth_failures = 5\nrelay = \"authenticated\"\n"), "x.toml");
  const ReceiveConnector& d = c.receive_connectors.front();
  EXPECT_TRUE(d.auth);
  EXPECT_EQ(d.max_auth_failures, 5u);
  EXPECT_EQ(d.relay, RelayPermission::Authenticated);
}

TEST(ReceiveAuthConfig, PlaintextAuthOnlyFromKnownNetworks) {
  const Config c = parse_config(
      auth_connector_config(
          "auth = true\nallow_plaintext_auth = true\nremote_ranges = [\"192.168.10.0/24\", \"fd00::/8\"]\n"),
      "x.toml");
  EXPECT_TRUE(c.receive_connectors.front().allow_plaintext_auth);
  EXPECT_CONFIG_ERROR(auth_connector_config("auth = true\nallow_plaintext_auth = true\n"),
                      "sluice.toml: line 6: receive_connector[0].allow_plaintext_auth: passwords in plaintext are "
                      "accepted only from known networks, and remote_ranges includes 0.0.0.0/0 (the whole Internet)");
  EXPECT_CONFIG_ERROR(
      auth_connector_config("auth = true\nremote_ranges = [\"10.0.0.0/8\", \"::/0\"]\nallow_plaintext_auth = true\n"),
      "remote_ranges includes ::/0 (the whole Internet)");
  // false is always fine, whatever the ranges.
  EXPECT_FALSE(parse_config(auth_connector_config("auth = true\nallow_plaintext_auth = false\n"), "x.toml")
                   .receive_connectors.front()
                   .allow_plaintext_auth);
}

using Mechanisms = std::vector<ReceiveAuthMechanism>;

TEST(ReceiveAuthConfig, TableEnablesAuthWithItsMechanismsInOrder) {
  const ReceiveConnector inline_table =
      parse_config(auth_connector_config("auth = { mechanisms = [\"login\"] }\n"), "x.toml").receive_connectors.front();
  EXPECT_TRUE(inline_table.auth);
  EXPECT_EQ(inline_table.auth_mechanisms, Mechanisms{ReceiveAuthMechanism::Login});
  EXPECT_EQ(inline_table.max_auth_failures, 3u);
  EXPECT_FALSE(inline_table.allow_plaintext_auth);

  // The sub-table form, with every key; the order given is the order EHLO offers.
  const ReceiveConnector sub_table =
      parse_config(
          auth_connector_config("remote_ranges = [\"192.168.10.0/24\"]\n[receive_connector.auth]\n"
                                "mechanisms = [\"login\", \"plain\"]\nallow_plaintext = true\nmax_failures = 5\n"),
          "x.toml")
          .receive_connectors.front();
  EXPECT_TRUE(sub_table.auth);
  EXPECT_EQ(sub_table.auth_mechanisms, (Mechanisms{ReceiveAuthMechanism::Login, ReceiveAuthMechanism::Plain}));
  EXPECT_TRUE(sub_table.allow_plaintext_auth);
  EXPECT_EQ(sub_table.max_auth_failures, 5u);

  // An empty table is auth with the defaults, like auth = true.
  const ReceiveConnector empty =
      parse_config(auth_connector_config("auth = {}\n"), "x.toml").receive_connectors.front();
  EXPECT_TRUE(empty.auth);
  EXPECT_EQ(empty.auth_mechanisms, (Mechanisms{ReceiveAuthMechanism::Plain, ReceiveAuthMechanism::Login}));
}

TEST(ReceiveAuthConfig, FlatKeysStillWorkNextToATable) {
  const ReceiveConnector c =
      parse_config(auth_connector_config("auth = { mechanisms = [\"plain\"] }\nmax_auth_failures = 7\n"
                                         "remote_ranges = [\"10.0.0.0/8\"]\nallow_plaintext_auth = true\n"),
                   "x.toml")
          .receive_connectors.front();
  EXPECT_EQ(c.auth_mechanisms, Mechanisms{ReceiveAuthMechanism::Plain});
  EXPECT_EQ(c.max_auth_failures, 7u);
  EXPECT_TRUE(c.allow_plaintext_auth);
}

TEST(ReceiveAuthConfigErrors, TheSameSettingTwoWays) {
  EXPECT_CONFIG_ERROR(auth_connector_config("max_auth_failures = 4\nauth = { max_failures = 5 }\n"),
                      "sluice.toml: line 6: receive_connector[0].auth.max_failures: is also given as "
                      "receive_connector[0].max_auth_failures (line 5); give it once");
  EXPECT_CONFIG_ERROR(auth_connector_config("remote_ranges = [\"10.0.0.0/8\"]\nallow_plaintext_auth = false\n"
                                            "[receive_connector.auth]\nallow_plaintext = true\n"),
                      "sluice.toml: line 8: receive_connector[0].auth.allow_plaintext: is also given as "
                      "receive_connector[0].allow_plaintext_auth (line 6); give it once");
}

TEST(ReceiveAuthConfigErrors, Table) {
  EXPECT_CONFIG_ERROR(auth_connector_config("auth = { mechanisms = [] }\n"),
                      "receive_connector[0].auth.mechanisms: must name at least one mechanism");
  EXPECT_CONFIG_ERROR(auth_connector_config("auth = { mechanisms = [\"login\", \"cram-md5\"] }\n"),
                      "receive_connector[0].auth.mechanisms[1]: \"cram-md5\" is not one of plain, login");
  EXPECT_CONFIG_ERROR(auth_connector_config("auth = { mechanisms = [\"LOGIN\"] }\n"),
                      "receive_connector[0].auth.mechanisms[0]: \"LOGIN\" is not one of plain, login");
  EXPECT_CONFIG_ERROR(auth_connector_config("auth = { mechanisms = [\"login\", \"login\"] }\n"),
                      "receive_connector[0].auth.mechanisms[1]: \"login\" is listed twice");
  EXPECT_CONFIG_ERROR(auth_connector_config("auth = { mechanisms = \"login\" }\n"),
                      "receive_connector[0].auth.mechanisms: expected an array");
  EXPECT_CONFIG_ERROR(auth_connector_config("auth = { max_failures = 0 }\n"),
                      "receive_connector[0].auth.max_failures: must be");
  EXPECT_CONFIG_ERROR(auth_connector_config("auth = { allow_plaintext_auth = true }\n"),
                      "receive_connector[0].auth: unknown key 'allow_plaintext_auth'");
  // The whole-Internet rule holds for the table's key too.
  EXPECT_CONFIG_ERROR(auth_connector_config("auth = { allow_plaintext = true }\n"),
                      "receive_connector[0].auth.allow_plaintext: passwords in plaintext are accepted only from "
                      "known networks, and remote_ranges includes 0.0.0.0/0");
}

TEST(ReceiveAuthConfigErrors, Values) {
  EXPECT_CONFIG_ERROR(auth_connector_config("auth = true\n", ""),
                      "sluice.toml: line 4: receive_connector[0].auth: SMTP AUTH needs the top-level users_file");
  EXPECT_CONFIG_ERROR(auth_connector_config("auth = { mechanisms = [\"login\"] }\n", ""),
                      "receive_connector[0].auth: SMTP AUTH needs the top-level users_file");
  EXPECT_CONFIG_ERROR(auth_connector_config("auth = \"yes\"\n"),
                      "receive_connector[0].auth: expected true, false or a table such as { mechanisms = "
                      "[\"login\"] }, got a string");
  EXPECT_CONFIG_ERROR(auth_connector_config("auth = true\nmax_auth_failures = 0\n"),
                      "receive_connector[0].max_auth_failures");
  EXPECT_CONFIG_ERROR(auth_connector_config("max_auth_failures = 2\n"),
                      "receive_connector[0].max_auth_failures: has no effect without auth = true");
  EXPECT_CONFIG_ERROR(auth_connector_config("remote_ranges = [\"10.0.0.0/8\"]\nallow_plaintext_auth = true\n"),
                      "receive_connector[0].allow_plaintext_auth: has no effect without auth = true");
  EXPECT_CONFIG_ERROR(auth_connector_config("", "users_file = \"\"\n"), "users_file");
  EXPECT_CONFIG_ERROR(auth_connector_config("", "users_file = 3\n"), "users_file");
  EXPECT_CONFIG_ERROR(auth_connector_config("auth_plaintext = true\n"), "receive_connector[0]");
}

}  // namespace
}  // namespace sluice::config
