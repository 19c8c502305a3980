// The receive connector's `accept_moved_mail` key (sluice queue move, XMOVE): off by default, and
// only where some client may relay.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/config.h"
#include "config/config_test_util.h"

namespace sluice::config {
namespace {

/// One receive connector "Nodes" (line 4 is the first of `keys`).
std::string nodes_with(std::string_view keys) {
  return "[[receive_connector]]\nname = \"Nodes\"\nlisten = [\"127.0.0.1:25\"]\n" + std::string(keys);
}

TEST(ReceiveMoveConfig, OffByDefaultOnWithRelayRanges) {
  EXPECT_FALSE(parse_config(nodes_with(""), "x").receive_connectors[0].accept_moved_mail);
  EXPECT_FALSE(default_config().receive_connectors[0].accept_moved_mail);
  EXPECT_TRUE(
      parse_config(nodes_with("relay = \"ranges\"\nrelay_from = [\"10.0.0.0/8\"]\naccept_moved_mail = true\n"), "x")
          .receive_connectors[0]
          .accept_moved_mail);
}

TEST(ReceiveMoveConfig, RefusesAWrongTypeAndAConnectorWhereNobodyMayRelay) {
  EXPECT_CONFIG_ERROR(nodes_with("accept_moved_mail = 1\n"),
                      "line 4: receive_connector[0].accept_moved_mail: expected a boolean, got an integer");
  EXPECT_CONFIG_ERROR(nodes_with("accept_moved_mail = true\n"),
                      "line 4: receive_connector[0].accept_moved_mail: accept_moved_mail = true needs relay");
}

}  // namespace
}  // namespace sluice::config
