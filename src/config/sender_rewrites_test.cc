#include <gtest/gtest.h>

#include "config/config.h"
#include "config/config_test_util.h"

namespace sluice::config {
namespace {

/// One [[receive_connector]] "Devices" with the given rewrite_senders value.
std::string rewrite_connector_config(std::string_view table) {
  return "[[receive_connector]]\nname = \"Devices\"\nlisten = [\"0.0.0.0:2526\"]\nrewrite_senders = " +
         std::string(table) + "\n";
}

TEST(SenderRewrites, InlineTableKeepsFileOrderNotKeyOrder) {
  const Config c =
      parse_config(rewrite_connector_config(R"({ "zz@printer.local" = "a@contoso.com", "*@printer.local" =)"
                                            R"( "scanner@contoso.com", "Root@LocalHost" = "alerts@contoso.com" })"),
                   "x.toml");
  const auto& rewrites = c.receive_connectors.at(0).rewrite_senders;
  ASSERT_EQ(rewrites.size(), 3u);
  EXPECT_EQ(rewrites[0].pattern, "zz@printer.local");
  EXPECT_EQ(rewrites[0].replacement, "a@contoso.com");
  EXPECT_EQ(rewrites[1].pattern, "*@printer.local");
  EXPECT_EQ(rewrites[2].pattern, "Root@LocalHost");
  EXPECT_EQ(rewrites[2].replacement, "alerts@contoso.com");
}

TEST(SenderRewrites, StandardTableFormToo) {
  const Config c = parse_config(
      "[[receive_connector]]\nname = \"Devices\"\nlisten = [\"0.0.0.0:2526\"]\n"
      "[receive_connector.rewrite_senders]\n\"root@localhost\" = \"alerts@contoso.com\"\n"
      "\"*@localhost\" = \"other@contoso.com\"\n",
      "x.toml");
  const auto& rewrites = c.receive_connectors.at(0).rewrite_senders;
  ASSERT_EQ(rewrites.size(), 2u);
  EXPECT_EQ(rewrites[0].pattern, "root@localhost");
  EXPECT_EQ(rewrites[1].pattern, "*@localhost");
}

TEST(SenderRewrites, NoneByDefault) { EXPECT_TRUE(default_config().receive_connectors.at(0).rewrite_senders.empty()); }

TEST(SenderRewrites, BadEntriesAreNamed) {
  EXPECT_CONFIG_ERROR(rewrite_connector_config("{}"),
                      "receive_connector[0].rewrite_senders: an empty table rewrites nothing");
  EXPECT_CONFIG_ERROR(rewrite_connector_config(R"("root@localhost")"),
                      "receive_connector[0].rewrite_senders: expected a table");
  EXPECT_CONFIG_ERROR(rewrite_connector_config(R"({ "scan*@printer.local" = "a@contoso.com" })"),
                      "rewrite_senders.\"scan*@printer.local\": \"scan*@printer.local\" is not a pattern sluice knows");
  EXPECT_CONFIG_ERROR(rewrite_connector_config(R"({ "*@printer..local" = "a@contoso.com" })"),
                      "\"*@printer..local\": the domain");
  EXPECT_CONFIG_ERROR(rewrite_connector_config(R"({ "root" = "a@contoso.com" })"), "\"root\" is not an address");
  EXPECT_CONFIG_ERROR(rewrite_connector_config(R"({ "root@localhost" = "alerts" })"),
                      "rewrite_senders.\"root@localhost\": \"alerts\" is not one ASCII address to send as");
  EXPECT_CONFIG_ERROR(rewrite_connector_config(R"({ "root@localhost" = "*@contoso.com" })"),
                      "an address, not a pattern");
  EXPECT_CONFIG_ERROR(rewrite_connector_config(R"({ "root@localhost" = "Alerts <alerts@contoso.com>" })"),
                      "is not one ASCII address");
  EXPECT_CONFIG_ERROR(rewrite_connector_config(R"({ "root@localhost" = "größe@contoso.com" })"),
                      "is not one ASCII address");
  EXPECT_CONFIG_ERROR(rewrite_connector_config(R"({ "root@localhost" = 1 })"),
                      "expected an address in quotes, got an integer");
  // Unquoted dotted keys make nested tables, not patterns.
  EXPECT_CONFIG_ERROR(rewrite_connector_config(R"({ printer.local = "a@contoso.com" })"),
                      "expected an address in quotes, got a table");
}

TEST(SenderRewrites, AnEntryThatCanNeverApplyIsRefused) {
  EXPECT_CONFIG_ERROR(
      rewrite_connector_config(R"({ "*@printer.local" = "a@contoso.com", "scan@Printer.Local" = "b@contoso.com" })"),
      "rewrite_senders.\"scan@Printer.Local\": never applies: the entry \"*@printer.local\" above");
  EXPECT_CONFIG_ERROR(
      rewrite_connector_config(R"({ "root@localhost" = "a@contoso.com", "ROOT@localhost" = "b@contoso.com" })"),
      "never applies");
  // The specific one first is what the first-match rule is for.
  const Config c = parse_config(
      rewrite_connector_config(R"({ "scan@printer.local" = "b@contoso.com", "*@printer.local" = "a@contoso.com" })"),
      "x");
  EXPECT_EQ(c.receive_connectors.at(0).rewrite_senders.size(), 2u);
}

}  // namespace
}  // namespace sluice::config
