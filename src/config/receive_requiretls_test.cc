// The receive connector's `requiretls` key (RFC 8689): its default and its refusals.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/config.h"
#include "config/config_test_util.h"

namespace sluice::config {
namespace {

/// One receive connector "Inbound" (line 4 is the first of `keys`).
std::string inbound_with(std::string_view keys) {
  return "[[receive_connector]]\nname = \"Inbound\"\nlisten = [\"127.0.0.1:25\"]\n" + std::string(keys);
}

TEST(ReceiveRequireTlsConfig, OnByDefaultAndCanBeTurnedOff) {
  EXPECT_TRUE(parse_config(inbound_with(""), "x").receive_connectors[0].requiretls);
  EXPECT_TRUE(default_config().receive_connectors[0].requiretls);
  EXPECT_FALSE(parse_config(inbound_with("requiretls = false\n"), "x").receive_connectors[0].requiretls);
  // Without STARTTLS the default is no contradiction: it is never offered, and older files still load.
  const ReceiveConnector plain = parse_config(inbound_with("starttls = false\n"), "x").receive_connectors[0];
  EXPECT_FALSE(plain.starttls);
  EXPECT_TRUE(plain.requiretls);
}

TEST(ReceiveRequireTlsConfig, RefusesWrongTypesAndAnExplicitTrueWithoutStarttls) {
  EXPECT_CONFIG_ERROR(inbound_with("requiretls = \"yes\"\n"),
                      "line 4: receive_connector[0].requiretls: expected a boolean, got a string");
  EXPECT_CONFIG_ERROR(inbound_with("starttls = false\nrequiretls = true\n"),
                      "line 5: receive_connector[0].requiretls: requiretls = true needs starttls = true");
}

}  // namespace
}  // namespace sluice::config
