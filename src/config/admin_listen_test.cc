#include <gtest/gtest.h>

#include "config/config.h"
#include "config/config_test_util.h"

namespace sluice::config {
namespace {

TEST(AdminListen, OffUnlessGiven) {
  const Config c = parse_config("", "x.toml");
  EXPECT_FALSE(c.admin_listen.has_value());
}

TEST(AdminListen, LoopbackAddressesAreTakenWithoutANote) {
  const Config v4 = parse_config("admin_listen = \"127.0.0.1:9025\"\n", "x.toml");
  ASSERT_TRUE(v4.admin_listen.has_value());
  EXPECT_EQ(v4.admin_listen->host, "127.0.0.1");
  EXPECT_EQ(v4.admin_listen->port, 9025);
  EXPECT_TRUE(v4.notes.empty());
  const Config v6 = parse_config("admin_listen = \"[::1]:9025\"\n", "x.toml");
  ASSERT_TRUE(v6.admin_listen.has_value());
  EXPECT_EQ(v6.admin_listen->host, "::1");
}

TEST(AdminListen, APublicAddressNeedsAdminListenPublic) {
  EXPECT_CONFIG_ERROR("admin_listen = \"0.0.0.0:9025\"\n",
                      "sluice.toml: line 1: admin_listen: 0.0.0.0:9025 is not a loopback address: the metrics would be "
                      "open to the network; set admin_listen_public = true");
  EXPECT_CONFIG_ERROR("admin_listen = \"192.0.2.7:9025\"\nadmin_listen_public = false\n", "is not a loopback address");
}

TEST(AdminListen, APublicAddressAllowedExplicitlyLeavesAWarning) {
  const Config c = parse_config("admin_listen = \"[::]:9025\"\nadmin_listen_public = true\n", "x.toml");
  ASSERT_TRUE(c.admin_listen.has_value());
  EXPECT_EQ(c.admin_listen->host, "::");
  ASSERT_EQ(c.notes.size(), 1u);
  EXPECT_NE(c.notes[0].find("x.toml: line 1: admin_listen: [::]:9025 is not a loopback address"), std::string::npos)
      << c.notes[0];
}

TEST(AdminListen, BadValuesAreErrors) {
  EXPECT_CONFIG_ERROR("admin_listen = \"localhost:9025\"\n", "admin_listen:");
  EXPECT_CONFIG_ERROR("admin_listen = \"127.0.0.1\"\n", "has no port");
  EXPECT_CONFIG_ERROR("admin_listen = 9025\n", "admin_listen");
  EXPECT_CONFIG_ERROR("admin_listen_public = \"yes\"\n", "admin_listen_public");
}

TEST(NodeName, TheMetricsNameOfAGatewayInAFleet) {
  EXPECT_EQ(parse_config("", "x.toml").node_name, "");  // the hostname then
  EXPECT_EQ(parse_config("node_name = \"mx1.example-2_a\"\n", "x.toml").node_name, "mx1.example-2_a");
  EXPECT_CONFIG_ERROR("node_name = \"mx 1\"\n",
                      "sluice.toml: line 1: node_name: use 1 to 64 letters, digits, '.', '-' and '_'");
  EXPECT_CONFIG_ERROR("node_name = \"mx\\\"1\"\n", "node_name: use 1 to 64");
  EXPECT_CONFIG_ERROR("node_name = \"\"\n", "node_name");
  EXPECT_CONFIG_ERROR("node_name = \"" + std::string(65, 'a') + "\"\n", "node_name: use 1 to 64");
}

}  // namespace
}  // namespace sluice::config
