#include "outbound/route.h"

#include <gtest/gtest.h>

#include <map>

#include "net/dns_test_util.h"

namespace sluice::outbound {
namespace {

using net::TableLookups;

net::DnsAnswer status(net::DnsAnswer::Status s) {
  net::DnsAnswer a;
  a.status = s;
  return a;
}

net::DnsAnswer mx_hosts(std::vector<std::string> names) {
  auto a = status(net::DnsAnswer::Status::Ok);
  for (auto& name : names) a.hosts.push_back({std::move(name), 10, false});
  return a;
}

net::DnsAnswer addresses(const std::vector<std::string>& texts) {
  auto a = status(net::DnsAnswer::Status::Ok);
  for (const auto& text : texts) a.addresses.push_back(asio::ip::make_address(text));
  return a;
}

TEST(ResolveTargets, MxHostsInOrderWithTheConnectorsPort) {
  TableLookups dns;
  dns.mx_answers["example.org"] = mx_hosts({"mx1.example.org", "mx2.example.org"});
  dns.address_answers["mx1.example.org"] = addresses({"192.0.2.1", "192.0.2.2"});
  dns.address_answers["mx2.example.org"] = addresses({"192.0.2.3"});
  config::SendConnector connector;
  connector.port = 2525;
  auto targets = resolve_targets(connector, "example.org", dns);
  ASSERT_TRUE(targets) << targets.error().one_line();
  ASSERT_EQ(targets->size(), 3u);
  EXPECT_EQ((*targets)[0].host, "mx1.example.org");
  EXPECT_EQ((*targets)[1].endpoint, asio::ip::tcp::endpoint(asio::ip::make_address("192.0.2.2"), 2525));
  EXPECT_EQ((*targets)[2].host, "mx2.example.org");
}

TEST(ResolveTargets, AHostWithoutAddressIsSkippedAndAtMostTenAreTried) {
  TableLookups dns;
  dns.mx_answers["example.org"] = mx_hosts({"gone.example.org", "mx.example.org"});
  std::vector<std::string> many;
  for (int i = 1; i <= 12; ++i) many.push_back("192.0.2." + std::to_string(i));
  dns.address_answers["mx.example.org"] = addresses(many);
  auto targets = resolve_targets(config::SendConnector{}, "example.org", dns);
  ASSERT_TRUE(targets);
  EXPECT_EQ(targets->size(), kMaxTargets);
  EXPECT_EQ(targets->front().host, "mx.example.org");
}

TEST(ResolveTargets, SmartHostsSkipTheMxLookup) {
  TableLookups dns;
  dns.address_answers["relay.example.net"] = addresses({"198.51.100.7"});
  config::SendConnector connector;
  connector.smart_hosts = {{"relay.example.net", 587, false}};
  auto targets = resolve_targets(connector, "example.org", dns);
  ASSERT_TRUE(targets);
  ASSERT_EQ(targets->size(), 1u);
  EXPECT_EQ(targets->front().endpoint.port(), 587);
}

TEST(ResolveTargets, FailuresAreTheRepliesTheRecipientsGet) {
  TableLookups dns;
  dns.mx_answers["nx.example"] = status(net::DnsAnswer::Status::NxDomain);
  dns.mx_answers["null.example"] = status(net::DnsAnswer::Status::NullMx);
  dns.mx_answers["noaddr.example"] = mx_hosts({"mx.noaddr.example"});
  config::SendConnector connector;

  auto nx = resolve_targets(connector, "nx.example", dns);
  ASSERT_FALSE(nx);
  EXPECT_EQ(nx.error().one_line(), "550 5.4.310 DNS domain nx.example does not exist");
  EXPECT_TRUE(nx.error().permanent());

  auto null_mx = resolve_targets(connector, "null.example", dns);
  ASSERT_FALSE(null_mx);
  EXPECT_EQ(null_mx.error().code, 556);
  EXPECT_EQ(null_mx.error().enhanced, "5.1.10");

  auto temp = resolve_targets(connector, "servfail.example", dns);
  ASSERT_FALSE(temp);
  EXPECT_EQ(temp.error().one_line(), "451 4.4.0 DNS query failed. The error was: SERVFAIL for servfail.example");

  auto no_address = resolve_targets(connector, "noaddr.example", dns);
  ASSERT_FALSE(no_address);
  EXPECT_TRUE(no_address.error().transient());
  EXPECT_EQ(no_address.error().one_line(),
            "451 4.4.0 DNS query failed. The error was: mx.noaddr.example: SERVFAIL for mx.noaddr.example");
}

TEST(Router, NextHopsAndEachConnectorsOwnLimit) {
  config::Config cfg;
  cfg.accepted_domains = {{"local.test", config::DomainType::Authoritative}};
  config::SendConnector partner, relay;
  partner.name = "Partner";
  partner.address_spaces = {"partner.test"};
  partner.max_connections_per_host = 7;
  relay.name = "Relay";
  relay.address_spaces = {"*"};
  relay.smart_hosts = {{"relay.test", 2525, false}, {"backup.test", 25, false}};
  relay.max_connections_per_host = 2;
  cfg.send_connectors = {relay, partner};
  Router router(cfg);
  EXPECT_EQ(router.next_hop_of("bob@Local.Test"), "local");
  EXPECT_EQ(router.next_hop_of("postmaster"), "local");
  EXPECT_EQ(router.next_hop_of("a@Partner.Test"), "partner.test");
  EXPECT_EQ(router.next_hop_of("a@elsewhere.test"), "relay.test:2525,backup.test:25");
  EXPECT_EQ(router.hop_limit("partner.test"), 7u);
  EXPECT_EQ(router.hop_limit("relay.test:2525,backup.test:25"), 2u);

  cfg.send_connectors = {partner};
  EXPECT_EQ(Router(cfg).next_hop_of("a@elsewhere.test"), kUnroutable);
}

TEST(Router, AcceptedDomainTypes) {
  config::Config cfg;
  cfg.accepted_domains = {{"corp.test", config::DomainType::InternalRelay},
                          {"*.branch.test", config::DomainType::Authoritative},
                          {"*.corp.test", config::DomainType::InternalRelay}};
  config::SendConnector internal, internet;
  internal.name = "Internal";
  internal.address_spaces = {"corp.test", "*.corp.test"};
  internal.smart_hosts = {{"10.0.0.25", 25, true}};
  internet.name = "Internet";
  cfg.send_connectors = {internet, internal};
  Router router(cfg);
  EXPECT_TRUE(router.is_local("a@eu.branch.test"));
  EXPECT_EQ(router.next_hop_of("a@Branch.Test"), "local");
  EXPECT_FALSE(router.is_local("a@corp.test"));
  EXPECT_EQ(router.next_hop_of("a@corp.test"), "[10.0.0.25]:25");
  EXPECT_EQ(router.next_hop_of("a@eu.corp.test"), "[10.0.0.25]:25");
  EXPECT_EQ(router.next_hop_of("a@elsewhere.test"), "elsewhere.test");
}

}  // namespace
}  // namespace sluice::outbound
