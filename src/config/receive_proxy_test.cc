// The PROXY protocol keys of a receive connector: what they set and every refusal.
#include <gtest/gtest.h>

#include <string>

#include "config/config.h"
#include "config/config_test_util.h"

namespace sluice::config {
namespace {

/// One receive connector "Behind-LB" (line 3 is the first of `keys`).
std::string proxied_connector(std::string_view keys) {
  return "[[receive_connector]]\nname = \"Behind-LB\"\nlisten = [\"127.0.0.1:25\"]\n" + std::string(keys);
}

TEST(ReceiveProxyConfig, OffByDefault) {
  const Config c = parse_config(proxied_connector(""), "sluice.toml");
  EXPECT_FALSE(c.receive_connectors[0].proxy_protocol);
  EXPECT_TRUE(c.receive_connectors[0].proxy_from.empty());
}

TEST(ReceiveProxyConfig, ReadsVersionsRangesAndTimeout) {
  const Config c =
      parse_config(proxied_connector("proxy_protocol = \"v1+v2\"\nproxy_from = [\"10.0.0.5\", \"2001:db8::/64\"]\n"
                                     "proxy_timeout = \"3s\"\n"),
                   "sluice.toml");
  const ReceiveConnector& r = c.receive_connectors[0];
  EXPECT_EQ(r.proxy_protocol, net::ProxyVersions::Both);
  ASSERT_EQ(r.proxy_from.size(), 2u);
  EXPECT_EQ(r.proxy_from[0].str(), "10.0.0.5/32");
  EXPECT_EQ(r.proxy_timeout, std::chrono::seconds(3));
  const Config v2 = parse_config(proxied_connector("proxy_protocol = \"v2\"\nproxy_from = [\"10.0.0.5\"]\n"), "x");
  EXPECT_EQ(v2.receive_connectors[0].proxy_protocol, net::ProxyVersions::V2);
  EXPECT_EQ(v2.receive_connectors[0].proxy_timeout, std::chrono::seconds(5));  // Postfix's default
}

TEST(ReceiveProxyConfig, Refusals) {
  EXPECT_CONFIG_ERROR(proxied_connector("proxy_protocol = \"v3\"\nproxy_from = [\"10.0.0.5\"]\n"),
                      "line 4: receive_connector[0].proxy_protocol: \"v3\" is not one of v1, v2, v1+v2");
  EXPECT_CONFIG_ERROR(proxied_connector("proxy_protocol = \"v2\"\n"),
                      "line 4: receive_connector[0].proxy_protocol: needs proxy_from");
  EXPECT_CONFIG_ERROR(proxied_connector("proxy_protocol = \"v2\"\nproxy_from = []\n"),
                      "receive_connector[0].proxy_from: an empty list names no load balancer");
  EXPECT_CONFIG_ERROR(proxied_connector("proxy_protocol = \"v2\"\nproxy_from = [\"10.0.0.5\", \"::/0\"]\n"),
                      "receive_connector[0].proxy_from[1]: \"::/0\" would let every client claim any address");
  EXPECT_CONFIG_ERROR(proxied_connector("proxy_from = [\"10.0.0.5\"]\n"),
                      "line 4: receive_connector[0].proxy_from: is used only with proxy_protocol");
  EXPECT_CONFIG_ERROR(proxied_connector("proxy_timeout = \"5s\"\n"),
                      "receive_connector[0].proxy_timeout: is used only with proxy_protocol");
  EXPECT_CONFIG_ERROR(proxied_connector("proxy_protocol = \"v1\"\nproxy_from = [\"10.0.0.5\"]\nproxy_timeout = 0\n"),
                      "receive_connector[0].proxy_timeout: must be greater than 0");
}

TEST(ReceiveProxyConfig, ConnectorsSharingAnAddressMustAgree) {
  const std::string lb = "proxy_protocol = \"v2\"\nproxy_from = [\"10.0.0.5\"]\n";
  const std::string internal =
      "[[receive_connector]]\nname = \"Internal\"\nlisten = [\"127.0.0.1:25\"]\nremote_ranges = [\"10.1.0.0/16\"]\n";
  EXPECT_CONFIG_ERROR(proxied_connector(lb) + internal,
                      "receive_connector[1]: connectors \"Internal\" and \"Behind-LB\" share 127.0.0.1:25 but not "
                      "their proxy_protocol, proxy_from and proxy_timeout");
  EXPECT_CONFIG_ERROR(proxied_connector(lb) + internal + "proxy_protocol = \"v1\"\nproxy_from = [\"10.0.0.5\"]\n",
                      "connectors \"Internal\" and \"Behind-LB\" share 127.0.0.1:25");
  const Config same = parse_config(proxied_connector(lb) + internal + lb, "sluice.toml");
  EXPECT_EQ(same.receive_connectors[1].proxy_protocol, net::ProxyVersions::V2);
  // On different addresses they may differ.
  const Config apart =
      parse_config(proxied_connector(lb) + "[[receive_connector]]\nname = \"Internal\"\nlisten = [\"127.0.0.1:26\"]\n",
                   "sluice.toml");
  EXPECT_FALSE(apart.receive_connectors[1].proxy_protocol);
}

}  // namespace
}  // namespace sluice::config
