#include <gtest/gtest.h>

#include "config/config.h"
#include "config/config_test_util.h"

namespace sluice::config {
namespace {

/// One [[receive_connector]] named "C" on port 25 with the given extra keys.
std::string connector(std::string_view keys) {
  return "[[receive_connector]]\nname = \"C\"\nlisten = [\"0.0.0.0:25\"]\n" + std::string(keys);
}

TEST(ReceivePermissions, ExchangesThreeConnectors) {
  const Config c = parse_config(R"toml(
[[receive_connector]]
name = "Internet"
listen = ["0.0.0.0:25"]

[[receive_connector]]
name = "Exchange Online"
listen = ["0.0.0.0:25"]
remote_ranges = ["40.92.0.0/15"]
relay = "none"
accepted_domain_senders = "anyone"

[[receive_connector]]
name = "Internal"
listen = ["10.0.0.5:25"]
remote_ranges = ["10.0.0.0/8"]
relay_from = ["10.1.0.0/16", "10.2.0.9"]

[[receive_connector]]
name = "Submission"
listen = ["10.0.0.5:587"]
relay = "authenticated"
)toml",
                                "x.toml");
  ASSERT_EQ(c.receive_connectors.size(), 4u);
  EXPECT_EQ(c.receive_connectors[0].relay, RelayPermission::None);
  EXPECT_EQ(c.receive_connectors[0].accepted_domain_senders, AcceptedDomainSenders::RelayClients);
  EXPECT_EQ(c.receive_connectors[1].relay, RelayPermission::None);
  EXPECT_EQ(c.receive_connectors[1].accepted_domain_senders, AcceptedDomainSenders::Anyone);
  EXPECT_EQ(c.receive_connectors[2].relay, RelayPermission::Ranges);  // implied by relay_from
  ASSERT_EQ(c.receive_connectors[2].relay_from.size(), 2u);
  EXPECT_EQ(c.receive_connectors[2].relay_from[1].str(), "10.2.0.9/32");
  EXPECT_EQ(c.receive_connectors[3].relay, RelayPermission::Authenticated);
  EXPECT_TRUE(c.notes.empty());
}

TEST(ReceivePermissions, GlobalRelayFromIsADeprecatedAliasForConnectorsThatSetNothing) {
  const Config one = parse_config("relay_from = [\"127.0.0.0/8\"]\n", "x.toml");  // the default connector
  ASSERT_EQ(one.receive_connectors.size(), 1u);
  EXPECT_EQ(one.receive_connectors[0].relay, RelayPermission::Ranges);
  ASSERT_EQ(one.receive_connectors[0].relay_from.size(), 1u);
  EXPECT_EQ(one.receive_connectors[0].relay_from[0].str(), "127.0.0.0/8");
  EXPECT_EQ(one.notes, std::vector<std::string>{
                           "x.toml: line 1: relay_from: the top-level relay_from is deprecated; it applies to the "
                           "receive connectors that set neither relay nor relay_from (\"Default\"); write relay_from "
                           "= [...] in those [[receive_connector]] tables instead"});

  const Config none = parse_config("relay_from = [\"127.0.0.0/8\"]\n" + connector("relay = \"none\"\n"), "x.toml");
  EXPECT_EQ(none.receive_connectors[0].relay, RelayPermission::None);
  EXPECT_TRUE(none.receive_connectors[0].relay_from.empty());
  ASSERT_EQ(none.notes.size(), 1u);
  EXPECT_NE(none.notes[0].find("has no effect here"), std::string::npos) << none.notes[0];
}

TEST(ReceivePermissionErrors, Values) {
  EXPECT_CONFIG_ERROR(connector("relay = \"all\"\n"),
                      "sluice.toml: line 4: receive_connector[0].relay: \"all\" is not one of none, ranges, "
                      "authenticated");
  EXPECT_CONFIG_ERROR(connector("relay = \"ranges\"\n"),
                      "receive_connector[0].relay: relay = \"ranges\" needs relay_from, the clients that may relay");
  EXPECT_CONFIG_ERROR(connector("relay = \"none\"\nrelay_from = [\"10.0.0.0/8\"]\n"),
                      "receive_connector[0].relay_from: relay_from is used only with relay = \"ranges\" (this "
                      "connector has relay = \"none\")");
  EXPECT_CONFIG_ERROR(connector("relay = \"authenticated\"\nrelay_from = [\"10.0.0.0/8\"]\n"),
                      "(this connector has relay = \"authenticated\")");
  EXPECT_CONFIG_ERROR(connector("relay_from = []\n"), "receive_connector[0].relay_from: an empty list lets nobody");
  EXPECT_CONFIG_ERROR(connector("relay_from = [\"10.0.0.0/8\", \"0.0.0.0/0\"]\n"),
                      "receive_connector[0].relay_from[1]: \"0.0.0.0/0\" would let every client relay (an open "
                      "relay)");
  EXPECT_CONFIG_ERROR(connector("relay_from = [\"::/0\"]\n"), "would let every client relay");
  EXPECT_CONFIG_ERROR("relay_from = [\"0.0.0.0/0\"]\n",
                      "sluice.toml: line 1: relay_from[0]: \"0.0.0.0/0\" would let every client relay");
  EXPECT_CONFIG_ERROR(connector("relay_from = [\"10.1.2.3/8\"]\n"), "has host bits set below the /8");
  EXPECT_CONFIG_ERROR(connector("remote_ranges = [\"40.92.0.0/15\"]\nrelay_from = [\"40.92.0.0/16\", "
                                "\"10.0.0.0/8\"]\n"),
                      "receive_connector[0].relay_from[1]: 10.0.0.0/8 lies outside this connector's "
                      "remote_ranges, so no client there ever reaches this connector");
  EXPECT_CONFIG_ERROR(connector("remote_ranges = [\"10.1.0.0/16\"]\nrelay_from = [\"2001:db8::/32\"]\n"),
                      "2001:db8::/32 lies outside this connector's remote_ranges");
  EXPECT_CONFIG_ERROR(connector("accepted_domain_senders = \"everyone\"\n"),
                      "receive_connector[0].accepted_domain_senders: \"everyone\" is not one of relay-clients, anyone");
  EXPECT_CONFIG_ERROR(connector("relai = \"none\"\n"), "unknown key 'relai' (did you mean 'relay'?)");
}

TEST(ReceivePermissions, RelayFromMayBeWiderOrNarrowerThanTheRemoteRanges) {
  // Overlap is enough: a /8 relay range on a connector for one /16 lets that /16 relay.
  EXPECT_NO_THROW(parse_config(connector("remote_ranges = [\"10.1.0.0/16\"]\nrelay_from = [\"10.0.0.0/8\"]\n"), "x"));
  EXPECT_NO_THROW(parse_config(connector("remote_ranges = [\"10.0.0.0/8\"]\nrelay_from = [\"10.9.9.9\"]\n"), "x"));
}

}  // namespace
}  // namespace sluice::config
