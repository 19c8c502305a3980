#include <fmt/core.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/config.h"
#include "config/config_test_util.h"

namespace sluice::config {
namespace {

/// One [[send_connector]] named "Out" with the given extra keys.
std::string send(std::string_view keys) { return "[[send_connector]]\nname = \"Out\"\n" + std::string(keys); }

Result<SmartHost> smart_host(std::string_view text) { return parse_smart_host(text); }

std::string smart_host_error(std::string_view text) {
  auto host = parse_smart_host(text);
  EXPECT_FALSE(host) << text;
  if (host) return "";
  EXPECT_FALSE(host.error().message.empty()) << text;
  return host.error().message;
}

// ---- defaults -------------------------------------------------------------------------------

TEST(SendDefaults, OneOpportunisticMxConnectorForEverything) {
  const Config c = default_config();
  ASSERT_EQ(c.send_connectors.size(), 1u);
  const SendConnector& d = c.send_connectors[0];
  EXPECT_EQ(d.name, "Default Outbound");
  EXPECT_EQ(d.address_spaces, std::vector<std::string>{"*"});
  EXPECT_TRUE(d.smart_hosts.empty());
  EXPECT_EQ(d.port, 25);
  EXPECT_EQ(d.tls, OutboundTls::Opportunistic);
  EXPECT_TRUE(d.fallback_to_plaintext);
  EXPECT_EQ(d.tls_policy.profile, "default");
  EXPECT_EQ(d.tls_policy.ciphers, tls::named_policy("default")->ciphers);
  EXPECT_EQ(d.tls_policy.min_version, tls::Version::Tls1_2);
  EXPECT_FALSE(d.tls_policy.allows_legacy_versions());
  EXPECT_TRUE(d.ca_file.empty());
  EXPECT_TRUE(d.helo.empty());
  EXPECT_EQ(d.max_connections_per_host, 5u);
  EXPECT_TRUE(c.dns_servers.empty());
  EXPECT_EQ(c.queue.retry_min, Seconds(60));
  EXPECT_EQ(c.queue.retry_max, Seconds(3600));
  EXPECT_EQ(c.queue.lifetime, Seconds(48 * 3600));
  EXPECT_EQ(c.queue.delay_warning, Seconds(0));
  EXPECT_EQ(c.queue.max_deliveries, 100u);
  EXPECT_EQ(c.queue.hop_backoff_max, Seconds(1800));
}

TEST(SendDefaults, KeptWhenTheFileHasNoSendConnector) {
  const Config c = parse_config("hostname = \"mx.example.org\"\n[queue]\nlifetime = \"1h\"\n", "x");
  ASSERT_EQ(c.send_connectors.size(), 1u);
  EXPECT_EQ(c.send_connectors[0].name, "Default Outbound");
  EXPECT_EQ(c.queue.lifetime, Seconds(3600));
  EXPECT_EQ(c.queue.retry_min, Seconds(60));
}

TEST(SendDefaults, ReplacedByTheConnectorsOfTheFile) {
  const Config c = parse_config(send("address_spaces = [\"example.net\"]\n"), "x");
  ASSERT_EQ(c.send_connectors.size(), 1u);
  EXPECT_EQ(c.send_connectors[0].name, "Out");
  EXPECT_EQ(select_send_connector(c, "example.org"), nullptr);
}

TEST(SendDefaults, KeysLeftOutKeepTheirDefaults) {
  const Config c = parse_config(send(""), "x");
  const SendConnector& s = c.send_connectors[0];
  EXPECT_EQ(s.address_spaces, std::vector<std::string>{"*"});
  EXPECT_EQ(s.tls, OutboundTls::Opportunistic);
  EXPECT_TRUE(s.fallback_to_plaintext);
  EXPECT_EQ(s.tls_policy.profile, "default");
  EXPECT_EQ(s.tls_policy.ciphers, tls::named_policy("default")->ciphers);
  EXPECT_EQ(s.port, 25);
}

// ---- a full send side -----------------------------------------------------------------------

TEST(ParseSendSide, FullRoundTrip) {
  const Config c = parse_config(R"toml(
dns_servers = ["127.0.0.1:5353", "192.0.2.53", "[::1]:5300", "[2001:DB8::35]", "2001:db8::36"]

[queue]
retry_min = "1m"
retry_max = "1h"
lifetime = "48h"
delay_warning = "4h"
max_deliveries = 20
hop_backoff_max = "30m"

[[send_connector]]
name = "Outbound to Office 365"
address_spaces = ["*"]
smart_hosts = ["[contoso-com.mail.protection.outlook.com]:25", "Relay.Example:2525", "10.0.0.5"]
tls = "required"
fallback_to_plaintext = false
helo = "mail.example.org"
max_connections_per_host = 3
[send_connector.tls_policy]
profile = "exchange-online"
min_version = "1.2"

[[send_connector]]
name = "Partners"
address_spaces = ["Partner.Example", "*.partner.example", "partner.example"]
port = 2525
tls = "opportunistic"
[send_connector.tls_policy]
profile = "legacy"
)toml",
                                "x");
  EXPECT_EQ(c.dns_servers, (std::vector<std::string>{"127.0.0.1:5353", "192.0.2.53:53", "[::1]:5300",
                                                     "[2001:db8::35]:53", "[2001:db8::36]:53"}));
  EXPECT_EQ(c.queue.retry_min, Seconds(60));
  EXPECT_EQ(c.queue.retry_max, Seconds(3600));
  EXPECT_EQ(c.queue.lifetime, Seconds(48 * 3600));
  EXPECT_EQ(c.queue.delay_warning, Seconds(4 * 3600));
  EXPECT_EQ(c.queue.max_deliveries, 20u);
  EXPECT_EQ(c.queue.hop_backoff_max, Seconds(1800));

  ASSERT_EQ(c.send_connectors.size(), 2u);
  const SendConnector& o365 = c.send_connectors[0];
  EXPECT_EQ(o365.name, "Outbound to Office 365");
  ASSERT_EQ(o365.smart_hosts.size(), 3u);
  EXPECT_EQ(o365.smart_hosts[0].host, "contoso-com.mail.protection.outlook.com");
  EXPECT_TRUE(o365.smart_hosts[0].literal);
  EXPECT_EQ(o365.smart_hosts[0].port, 25);
  EXPECT_EQ(o365.smart_hosts[1].str(), "relay.example:2525");
  EXPECT_FALSE(o365.smart_hosts[1].literal);
  EXPECT_EQ(o365.smart_hosts[2].str(), "[10.0.0.5]:25");
  EXPECT_EQ(o365.tls, OutboundTls::Required);
  EXPECT_FALSE(o365.fallback_to_plaintext);
  EXPECT_EQ(o365.helo, "mail.example.org");
  EXPECT_EQ(o365.max_connections_per_host, 3u);
  EXPECT_EQ(o365.tls_policy.profile, "exchange-online");
  EXPECT_EQ(o365.tls_policy.ciphers, tls::named_policy("exchange-online")->ciphers);

  const SendConnector& partners = c.send_connectors[1];
  // Lower-cased, and the repeated entry dropped.
  EXPECT_EQ(partners.address_spaces, (std::vector<std::string>{"partner.example", "*.partner.example"}));
  EXPECT_TRUE(partners.smart_hosts.empty());
  EXPECT_EQ(partners.port, 2525);
  EXPECT_TRUE(partners.tls_policy.allows_legacy_versions());

  EXPECT_EQ(select_send_connector(c, "partner.example"), &partners);
  EXPECT_EQ(select_send_connector(c, "mx.partner.example"), &partners);
  EXPECT_EQ(select_send_connector(c, "example.com"), &o365);
}

// ---- dns_servers ----------------------------------------------------------------------------

TEST(DnsServers, EmptyListMeansTheSystemResolver) {
  EXPECT_TRUE(parse_config("dns_servers = []\n", "x").dns_servers.empty());
}

TEST(DnsServers, Errors) {
  EXPECT_CONFIG_ERROR("dns_servers = \"127.0.0.1\"\n",
                      "sluice.toml: line 1: dns_servers: expected an array, got a string");
  EXPECT_CONFIG_ERROR("dns_servers = [53]\n", "dns_servers[0]: expected a string, got an integer");
  EXPECT_CONFIG_ERROR("dns_servers = [\"127.0.0.1\", \"ns.example.org:53\"]\n",
                      "dns_servers[1]: \"ns.example.org:53\" is not a DNS server address; write \"IPv4\", "
                      "\"IPv4:port\", \"[IPv6]\" or \"[IPv6]:port\" with a numeric address and port 1-65535 (53 "
                      "when left out), e.g. \"127.0.0.1:5353\"");
  EXPECT_CONFIG_ERROR("dns_servers = [\"127.0.0.1:0\"]\n", "dns_servers[0]: \"127.0.0.1:0\" is not a DNS server");
  EXPECT_CONFIG_ERROR("dns_servers = [\"127.0.0.1:65536\"]\n", "\"127.0.0.1:65536\" is not a DNS server");
  EXPECT_CONFIG_ERROR("dns_servers = [\"[::1\"]\n", "\"[::1\" is not a DNS server");
  EXPECT_CONFIG_ERROR("dns_servers = [\"\"]\n", "dns_servers[0]: \"\" is not a DNS server");
  EXPECT_CONFIG_ERROR("dns_servers = [\"127.0.0.1\", \"127.0.0.1:53\"]\n",
                      "dns_servers[1]: 127.0.0.1:53 is listed twice");
}

TEST(DnssecTrustedResolvers, LeftOutMeansTheDefaultAndAListIsNormalised) {
  EXPECT_FALSE(parse_config("dns_servers = [\"127.0.0.1:5353\"]\n", "x").dnssec_trusted_resolvers.has_value());
  const Config c = parse_config("dnssec_trusted_resolvers = [\"127.0.0.1\", \"[::1]:5300\"]\n", "x");
  EXPECT_EQ(c.dnssec_trusted_resolvers, (std::vector<std::string>{"127.0.0.1:53", "[::1]:5300"}));
  EXPECT_EQ(parse_config("dnssec_trusted_resolvers = []\n", "x").dnssec_trusted_resolvers,
            std::vector<std::string>{});  // trust no AD bit: DANE never applies
  EXPECT_CONFIG_ERROR("dnssec_trusted_resolvers = [\"resolver.example\"]\n",
                      "dnssec_trusted_resolvers[0]: \"resolver.example\" is not a DNS server address");
}

TEST(DnsTimeout, DefaultsToTenSecondsAndStaysBetweenOneAndSixty) {
  EXPECT_EQ(parse_config("", "x").dns_timeout, Seconds(10));
  EXPECT_EQ(parse_config("dns_timeout = \"2s\"\n", "x").dns_timeout, Seconds(2));
  EXPECT_EQ(parse_config("dns_timeout = 60\n", "x").dns_timeout, Seconds(60));
  EXPECT_CONFIG_ERROR("dns_timeout = 0\n", "dns_timeout: must be greater than 0");
  EXPECT_CONFIG_ERROR("dns_timeout = \"61s\"\n", "dns_timeout: must not be longer than 60 seconds");
  EXPECT_CONFIG_ERROR("dns_timeout = \"soon\"\n", "dns_timeout: \"soon\" is not a duration");
}

// ---- [queue] --------------------------------------------------------------------------------

TEST(QueueSettingsConfig, ShortLifetimeAndZeroDelayWarning) {
  const Config c =
      parse_config("[queue]\nlifetime = \"1s\"\ndelay_warning = 0\nretry_min = 1\nretry_max = \"2s\"\n", "x");
  EXPECT_EQ(c.queue.lifetime, Seconds(1));
  EXPECT_EQ(c.queue.delay_warning, Seconds(0));
  EXPECT_EQ(c.queue.retry_min, Seconds(1));
  EXPECT_EQ(c.queue.retry_max, Seconds(2));
  EXPECT_EQ(parse_config("[queue]\ndelay_warning = \"0s\"\n", "x").queue.delay_warning, Seconds(0));
  // retry_max may equal retry_min: a constant interval.
  EXPECT_EQ(parse_config("[queue]\nretry_min = \"5m\"\nretry_max = \"5m\"\n", "x").queue.retry_max, Seconds(300));
}

TEST(QueueSettingsConfig, Errors) {
  EXPECT_CONFIG_ERROR("queue = 5\n", "queue: expected a table, got an integer");
  EXPECT_CONFIG_ERROR("[queue]\nretry_mx = \"1h\"\n",
                      "sluice.toml: line 2: queue: unknown key 'retry_mx' (did you mean 'retry_max'?)");
  EXPECT_CONFIG_ERROR("[queue]\nretry_min = 0\n", "line 2: queue.retry_min: must be greater than 0, got 0");
  EXPECT_CONFIG_ERROR("[queue]\nlifetime = \"0s\"\n", "queue.lifetime: must be greater than 0, got 0");
  EXPECT_CONFIG_ERROR("[queue]\nhop_backoff_max = \"soon\"\n", "queue.hop_backoff_max: \"soon\" is not a duration");
  EXPECT_CONFIG_ERROR("[queue]\ndelay_warning = -1\n", "queue.delay_warning: must be at least 0, got -1");
  EXPECT_CONFIG_ERROR("[queue]\nlifetime = \"366h\"\nretry_max = \"9000h\"\n",
                      "queue.retry_max: must not be longer than 365 days");
  EXPECT_CONFIG_ERROR("[queue]\nmax_deliveries = 0\n", "queue.max_deliveries: must be greater than 0, got 0");
  EXPECT_CONFIG_ERROR("[queue]\nretry_min = \"10m\"\nretry_max = \"5m\"\n",
                      "line 3: queue.retry_max: retry_max 5m is below retry_min 10m; the backoff grows from "
                      "retry_min up to retry_max");
  // Only retry_min given, above the default retry_max: the error points at what was written.
  EXPECT_CONFIG_ERROR("[queue]\nretry_min = \"2h\"\n", "line 2: queue.retry_min: retry_max 1h is below retry_min 2h");
  EXPECT_CONFIG_ERROR("[queue]\nlifetime = \"1h\"\ndelay_warning = \"1h\"\n",
                      "line 3: queue.delay_warning: delay_warning 1h is not shorter than lifetime 1h, so the "
                      "warning would never be sent; shorten it, or set delay_warning = 0 to turn it off");
}

// ---- [[send_connector]] ---------------------------------------------------------------------

TEST(SendConnectorConfig, ShapeAndNames) {
  EXPECT_CONFIG_ERROR("send_connector = []\n",
                      "send_connector: no connector given; sluice would send mail to no other domain; leave "
                      "[[send_connector]] out to get the default one");
  EXPECT_CONFIG_ERROR("[send_connector]\nname = \"x\"\n",
                      "send_connector: expected an array of tables ([[send_connector]]), got a table");
  EXPECT_CONFIG_ERROR("[[send_conector]]\nname = \"x\"\n",
                      "unknown key 'send_conector' (did you mean 'send_connector'?)");
  EXPECT_CONFIG_ERROR(
      "[[send_connector]]\nport = 25\n",
      "line 1: send_connector[0]: missing key 'name' (every connector needs a unique name for the logs)");
  EXPECT_CONFIG_ERROR(send("smarthosts = []\n"),
                      "line 3: send_connector[0]: unknown key 'smarthosts' (did you mean 'smart_hosts'?)");
  EXPECT_CONFIG_ERROR(send("fallback_to_plaintxt = true\n"), "did you mean 'fallback_to_plaintext'?");
  EXPECT_CONFIG_ERROR(send("address_spaces = [\"a.example\"]\n") +
                          "[[send_connector]]\nname = \"OUT\"\naddress_spaces = [\"b.example\"]\n",
                      "line 5: send_connector[1].name: \"OUT\" is already the name of send_connector[0]");
}

TEST(SendConnectorConfig, EmptyNameIsAnError) {
  EXPECT_CONFIG_ERROR("[[send_connector]]\nname = \"\"\n", "line 2: send_connector[0].name: must not be empty");
}

TEST(SendConnectorConfig, AddressSpaces) {
  EXPECT_CONFIG_ERROR(send("address_spaces = []\n"),
                      "send_connector[0].address_spaces: an empty list serves no domain; leave the key out to "
                      "serve every domain (\"*\")");
  EXPECT_CONFIG_ERROR(send("address_spaces = \"*\"\n"),
                      "send_connector[0].address_spaces: expected an array, got a string");
  EXPECT_CONFIG_ERROR(send("address_spaces = [\"*example.org\"]\n"),
                      "send_connector[0].address_spaces[0]: \"*example.org\" is not an address space; write "
                      "\"*\", \"example.org\" or \"*.example.org\"");
  EXPECT_CONFIG_ERROR(send("address_spaces = [\"sub.*.example.org\"]\n"),
                      "\"sub.*.example.org\" is not an address space");
  EXPECT_CONFIG_ERROR(send("address_spaces = [\"*.*\"]\n"), "\"*.*\" is not an address space");
  EXPECT_CONFIG_ERROR(send("address_spaces = [\"**\"]\n"), "\"**\" is not an address space");
  EXPECT_CONFIG_ERROR(send("address_spaces = [\"*.\"]\n"), "\"*.\" is not an address space");
  EXPECT_CONFIG_ERROR(send("address_spaces = [\"example.org.\"]\n"),
                      "send_connector[0].address_spaces[0]: \"example.org.\" ends with a dot");
  EXPECT_CONFIG_ERROR(send("address_spaces = [\"*.exa_mple.org\"]\n"), "\"exa_mple.org\" contains \"_\"");
  EXPECT_CONFIG_ERROR(send("address_spaces = [\"ok.example\", \"user@example.org\"]\n"),
                      "send_connector[0].address_spaces[1]: \"user@example.org\" contains \"@\"");
}

TEST(SendConnectorConfig, SameAddressSpaceInTwoConnectorsIsAmbiguous) {
  EXPECT_CONFIG_ERROR(
      send("address_spaces = [\"a.example\", \"Shared.Example\"]\n") +
          "[[send_connector]]\nname = \"Other\"\naddress_spaces = [\"b.example\", \"shared.example\"]\n",
      "line 6: send_connector[1].address_spaces[1]: \"shared.example\" is also an address space of "
      "send connector \"Out\", so a recipient domain there would match both equally; keep it in one "
      "of them");
  // Two connectors without address_spaces both serve "*".
  const std::string both_default = send("") + "[[send_connector]]\nname = \"Other\"\n";
  EXPECT_CONFIG_ERROR(both_default,
                      "line 3: send_connector[1].address_spaces: \"*\" is also an address space of send "
                      "connector \"Out\"");
  EXPECT_CONFIG_ERROR(both_default, "(address_spaces defaults to [\"*\"] when left out)");
  // A repeated entry in one connector is dropped, so its index in the error is still the written one.
  EXPECT_CONFIG_ERROR(send("address_spaces = [\"a.example\"]\n") +
                          "[[send_connector]]\nname = \"Other\"\naddress_spaces = [\"b.example\", \"b.example\", "
                          "\"a.example\"]\n",
                      "send_connector[1].address_spaces[2]: \"a.example\" is also an address space");
  // "example.org" and "*.example.org" are different spaces: the exact one wins, no ambiguity.
  EXPECT_NO_THROW(
      parse_config(send("address_spaces = [\"example.org\"]\n") +
                       "[[send_connector]]\nname = \"Other\"\naddress_spaces = [\"*.example.org\", \"*\"]\n",
                   "x"));
}

TEST(SendConnectorConfig, SmartHostsAndPort) {
  EXPECT_CONFIG_ERROR(send("smart_hosts = [\"relay.example\", \"2001:db8::1\"]\n"),
                      "line 3: send_connector[0].smart_hosts[1]: \"2001:db8::1\" looks like an IPv6 address "
                      "without brackets; write it as \"[2001:db8::1]:25\"");
  EXPECT_CONFIG_ERROR(send("smart_hosts = [\"relay.example\", \"Relay.example:25\"]\n"),
                      "send_connector[0].smart_hosts[1]: relay.example:25 is listed twice");
  EXPECT_CONFIG_ERROR(send("smart_hosts = \"relay.example\"\n"), "smart_hosts: expected an array, got a string");
  EXPECT_CONFIG_ERROR(send("port = 0\n"), "send_connector[0].port: must be a port from 1 to 65535, got 0");
  EXPECT_CONFIG_ERROR(send("port = 65536\n"), "must be a port from 1 to 65535, got 65536");
  EXPECT_CONFIG_ERROR(send("port = \"25\"\n"), "send_connector[0].port: expected an integer, got a string");
  EXPECT_CONFIG_ERROR(send("smart_hosts = [\"relay.example\"]\nport = 2525\n"),
                      "line 4: send_connector[0].port: port applies to MX routing only; with smart_hosts, give the "
                      "port in each entry (e.g. \"relay.example.org:2525\")");
  // An empty smart_hosts list is MX routing, where port applies.
  EXPECT_EQ(parse_config(send("smart_hosts = []\nport = 2525\n"), "x").send_connectors[0].port, 2525);
}

TEST(SendConnectorConfig, TlsMode) {
  const std::pair<const char*, OutboundTls> modes[] = {{"none", OutboundTls::None},
                                                       {"opportunistic", OutboundTls::Opportunistic},
                                                       {"required", OutboundTls::Required},
                                                       {"verify", OutboundTls::Verify}};
  for (const auto& [name, mode] : modes) {
    const Config c = parse_config(send(fmt::format("tls = \"{}\"\n", name)), "x");
    EXPECT_EQ(c.send_connectors[0].tls, mode) << name;
    EXPECT_EQ(outbound_tls_name(mode), name);
  }
  EXPECT_CONFIG_ERROR(send("tls = \"strict\"\n"),
                      "line 3: send_connector[0].tls: \"strict\" is not one of opportunistic, required, verify, none");
  EXPECT_CONFIG_ERROR(send("tls = \"Required\"\n"), "\"Required\" is not one of");
  EXPECT_CONFIG_ERROR(send("tls = true\n"), "send_connector[0].tls: expected a string, got a boolean");
  EXPECT_CONFIG_ERROR(send("fallback_to_plaintext = \"yes\"\n"),
                      "send_connector[0].fallback_to_plaintext: expected a boolean, got a string");
  // Documented as ignored outside opportunistic, so it is not an error.
  const Config c = parse_config(send("tls = \"required\"\nfallback_to_plaintext = true\n"), "x");
  EXPECT_TRUE(c.send_connectors[0].fallback_to_plaintext);
}

class CaFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / fmt::format("sluice-send-ca-{}", getpid());
    std::filesystem::create_directories(dir_);
    file_ = dir_ / "ca.pem";
    std::ofstream(file_) << "-----BEGIN CERTIFICATE-----\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string key(const std::filesystem::path& p) { return fmt::format("ca_file = \"{}\"\n", p.string()); }
  std::filesystem::path dir_;
  std::filesystem::path file_;
};

TEST_F(CaFile, OnlyWithVerify) {
  const Config c = parse_config(send("tls = \"verify\"\n" + key(file_)), "x");
  EXPECT_EQ(c.send_connectors[0].ca_file, file_);
  // Key order does not matter: tls may come after ca_file.
  EXPECT_EQ(parse_config(send(key(file_) + "tls = \"verify\"\n"), "x").send_connectors[0].ca_file, file_);
  EXPECT_CONFIG_ERROR(send("tls = \"required\"\n" + key(file_)),
                      "line 4: send_connector[0].ca_file: ca_file is used only when certificates are verified "
                      "(tls = \"verify\", \"dane\", \"dane-only\" or \"mta-sts\", or entries in tls_destinations); "
                      "this connector has tls = \"required\"");
  EXPECT_CONFIG_ERROR(send(key(file_)), "this connector has tls = \"opportunistic\"");
  EXPECT_EQ(parse_config(send("tls = \"mta-sts\"\n" + key(file_)), "x").send_connectors[0].ca_file, file_);
  EXPECT_EQ(parse_config(send(key(file_) + "[send_connector.tls_destinations]\n\"example.org\" = \"verify\"\n"), "x")
                .send_connectors[0]
                .ca_file,
            file_);
}

// ---- tls_destinations (the policy table) ------------------------------------------------------

TEST(TlsDestinations, ModesAndTablesAreRead) {
  const Config c = parse_config(R"(
[[send_connector]]
name = "Internet"
tls = "dane"
[send_connector.tls_destinations]
"Example.ORG" = "dane-only"
"*.example.net" = { mode = "verify", match = ["mx.example.net", "*.mail.example.net"], min_version = "1.3" }
"legacy.example" = "encrypt"
"printers.example" = "may"
)",
                                "x");
  const auto& d = c.send_connectors[0].tls_destinations;
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(c.send_connectors[0].tls, OutboundTls::Dane);
  auto find = [&](const std::string& name) {
    for (const auto& e : d)
      if (e.domain == name) return e;
    ADD_FAILURE() << name;
    return TlsDestination{};
  };
  EXPECT_EQ(find("example.org").mode, OutboundTls::DaneOnly);
  const auto net = find("*.example.net");
  EXPECT_EQ(net.mode, OutboundTls::Verify);
  EXPECT_EQ(net.match, (std::vector<std::string>{"mx.example.net", "*.mail.example.net"}));
  EXPECT_EQ(net.min_version, tls::Version::Tls1_3);
  EXPECT_EQ(find("legacy.example").mode, OutboundTls::Required);
  EXPECT_EQ(find("printers.example").mode, OutboundTls::Opportunistic);
}

TEST(TlsDestinations, BadEntriesAreNamed) {
  auto table = [](const std::string& body) {
    return "[[send_connector]]\nname = \"I\"\n[send_connector.tls_destinations]\n" + body;
  };
  EXPECT_CONFIG_ERROR(table("\"example.org\" = \"strict\"\n"),
                      "send_connector[0].tls_destinations.\"example.org\": \"strict\" is not one of");
  EXPECT_CONFIG_ERROR(table("\"exa mple.org\" = \"verify\"\n"), "tls_destinations.\"exa mple.org\"");
  EXPECT_CONFIG_ERROR(table("\"example.org\" = { mode = \"dane\", match = [\"mx.example.org\"] }\n"),
                      "match names the certificate's names for mode = \"verify\"; this entry has mode = \"dane\"");
  EXPECT_CONFIG_ERROR(table("\"example.org\" = { mode = \"verify\", min_version = \"1.4\" }\n"),
                      "min_version: \"1.4\" is not one of 1.0, 1.1, 1.2, 1.3");
  EXPECT_CONFIG_ERROR(table("\"example.org\" = { match = [\"mx.example.org\"] }\n"), "missing key 'mode'");
  EXPECT_CONFIG_ERROR(table("\"example.org\" = { mode = \"verify\", names = [] }\n"), "names");
  EXPECT_CONFIG_ERROR(table("\"example.org\" = 3\n"), "must be a mode");
}

TEST_F(CaFile, MustBeAReadableFile) {
  const std::filesystem::path missing = dir_ / "missing.pem";
  EXPECT_CONFIG_ERROR(send("tls = \"verify\"\n" + key(missing)),
                      fmt::format("send_connector[0].ca_file: \"{}\" does not exist", missing.string()));
  EXPECT_CONFIG_ERROR(send("tls = \"verify\"\n" + key(dir_)),
                      fmt::format("\"{}\" is a directory, not a PEM file of CA certificates", dir_.string()));
  EXPECT_CONFIG_ERROR(send("tls = \"verify\"\nca_file = \"\"\n"), "send_connector[0].ca_file: must not be empty");
  if (geteuid() != 0) {  // root reads anything
    std::filesystem::permissions(file_, std::filesystem::perms::none);
    EXPECT_CONFIG_ERROR(send("tls = \"verify\"\n" + key(file_)),
                        fmt::format("\"{}\" cannot be read: Permission denied", file_.string()));
  }
}

// A client certificate: both files or neither, both readable (the key's match is checked when the
// client context is built, at start: tls/client_certificates_test.cc).
TEST_F(CaFile, ClientCertificateFiles) {
  const std::filesystem::path key_file = dir_ / "client.key";
  std::ofstream(key_file) << "-----BEGIN PRIVATE KEY-----\n";
  const auto policy = [](std::string_view keys) { return send("[send_connector.tls_policy]\n" + std::string(keys)); };
  const auto files = [](const std::filesystem::path& c, const std::filesystem::path& k) {
    return fmt::format("certificate = \"{}\"\nkey = \"{}\"\n", c.string(), k.string());
  };
  const Config c = parse_config(policy(files(file_, key_file)), "x");
  EXPECT_EQ(c.send_connectors[0].tls_policy.certificate, file_);
  EXPECT_EQ(c.send_connectors[0].tls_policy.key, key_file);
  EXPECT_TRUE(default_config().send_connectors[0].tls_policy.certificate.empty());

  EXPECT_CONFIG_ERROR(policy(fmt::format("certificate = \"{}\"\n", file_.string())),
                      "line 4: send_connector[0].tls_policy: certificate is given without key; give both or neither");
  EXPECT_CONFIG_ERROR(policy(fmt::format("key = \"{}\"\n", key_file.string())),
                      "send_connector[0].tls_policy: key is given without certificate; give both or neither");
  const std::filesystem::path missing = dir_ / "missing.pem";
  EXPECT_CONFIG_ERROR(
      policy(files(missing, key_file)),
      fmt::format("line 4: send_connector[0].tls_policy.certificate: \"{}\" does not exist", missing.string()));
  EXPECT_CONFIG_ERROR(policy(files(file_, missing)),
                      fmt::format("line 5: send_connector[0].tls_policy.key: \"{}\" does not exist", missing.string()));
  EXPECT_CONFIG_ERROR(policy(files(file_, dir_)),
                      fmt::format("\"{}\" is a directory, not a PEM private key", dir_.string()));
  if (geteuid() != 0) {  // root reads anything
    std::filesystem::permissions(key_file, std::filesystem::perms::none);
    EXPECT_CONFIG_ERROR(
        policy(files(file_, key_file)),
        fmt::format("send_connector[0].tls_policy.key: \"{}\" cannot be read: Permission denied", key_file.string()));
  }
}

TEST(SendConnectorConfig, HeloAndConnections) {
  EXPECT_EQ(parse_config(send("helo = \"gw.example.org\"\n"), "x").send_connectors[0].helo, "gw.example.org");
  EXPECT_CONFIG_ERROR(send("helo = \"\"\n"), "send_connector[0].helo: is empty; leave the key out to use hostname");
  EXPECT_CONFIG_ERROR(send("helo = \"gw example\"\n"), "send_connector[0].helo: \"gw example\" contains a space");
  EXPECT_CONFIG_ERROR(send("max_connections_per_host = 0\n"),
                      "send_connector[0].max_connections_per_host: must be greater than 0, got 0");
  EXPECT_EQ(parse_config(send("max_connections_per_host = 1\n"), "x").send_connectors[0].max_connections_per_host, 1u);
}

TEST(SendConnectorConfig, TlsPolicy) {
  const auto policy = [](std::string_view keys) { return send("[send_connector.tls_policy]\n" + std::string(keys)); };
  EXPECT_CONFIG_ERROR(send("tls_policy = \"legacy\"\n"),
                      "send_connector[0].tls_policy: expected a table, got a string");
  EXPECT_CONFIG_ERROR(policy("min_verson = \"1.2\"\n"),
                      "send_connector[0].tls_policy: unknown key 'min_verson' (did you mean 'min_version'?)");
  EXPECT_CONFIG_ERROR(
      policy("profile = \"modern\"\n"),
      "send_connector[0].tls_policy.profile: \"modern\" is not one of default, exchange-online, legacy");
  EXPECT_CONFIG_ERROR(policy("min_version = \"1.3\"\nmax_version = \"1.2\"\n"),
                      "send_connector[0].tls_policy: min_version 1.3 is above max_version 1.2");
  // The receive side's rule and words: TLS 1.0/1.1 only when asked for with the legacy profile.
  EXPECT_CONFIG_ERROR(policy("min_version = \"1.0\"\n"),
                      "sluice.toml: line 4: send_connector[0].tls_policy.min_version: min_version 1.0 needs profile "
                      "= \"legacy\" (TLS 1.0/1.1 exist only when asked for; OpenSSL 3 needs security level 0)");
  EXPECT_CONFIG_ERROR(policy("profile = \"legacy\"\nsecurity_level = 1\n"),
                      "send_connector[0].tls_policy.min_version: min_version 1.0 needs security_level = 0");

  const Config legacy = parse_config(policy("profile = \"legacy\"\nmax_version = \"1.0\"\n"), "x");
  EXPECT_EQ(legacy.send_connectors[0].tls_policy.profile, "legacy");
  EXPECT_EQ(legacy.send_connectors[0].tls_policy.min_version, tls::Version::Tls1_0);
  EXPECT_EQ(legacy.send_connectors[0].tls_policy.max_version, tls::Version::Tls1_0);
  EXPECT_EQ(legacy.send_connectors[0].tls_policy.security_level, 0);
  const Config modern = parse_config(policy("min_version = \"1.3\"\n"), "x");
  EXPECT_EQ(modern.send_connectors[0].tls_policy.min_version, tls::Version::Tls1_3);
  EXPECT_EQ(modern.send_connectors[0].tls_policy.profile, "default");
}

// ---- smart hosts ----------------------------------------------------------------------------

TEST(ParseSmartHost, Forms) {
  struct Case {
    const char* text;
    const char* host;
    std::uint16_t port;
    bool literal;
    const char* str;
  };
  const Case cases[] = {
      {"[contoso-com.mail.protection.outlook.com]:25", "contoso-com.mail.protection.outlook.com", 25, true,
       "[contoso-com.mail.protection.outlook.com]:25"},
      {"[relay.example]", "relay.example", 25, true, "[relay.example]:25"},
      {"relay.example:2525", "relay.example", 2525, false, "relay.example:2525"},
      {"Relay.EXAMPLE", "relay.example", 25, false, "relay.example:25"},
      {"localhost:10025", "localhost", 10025, false, "localhost:10025"},
      {"10.0.0.5", "10.0.0.5", 25, true, "[10.0.0.5]:25"},
      {"10.0.0.5:587", "10.0.0.5", 587, true, "[10.0.0.5]:587"},
      {"[192.0.2.1]:65535", "192.0.2.1", 65535, true, "[192.0.2.1]:65535"},
      {"[2001:DB8:0::1]:25", "2001:db8::1", 25, true, "[2001:db8::1]:25"},
      {"[::1]", "::1", 25, true, "[::1]:25"},
      {"mx1:1", "mx1", 1, false, "mx1:1"},
  };
  for (const Case& c : cases) {
    const auto h = smart_host(c.text);
    ASSERT_TRUE(h) << c.text << ": " << smart_host_error(c.text);
    EXPECT_EQ(h->host, c.host) << c.text;
    EXPECT_EQ(h->port, c.port) << c.text;
    EXPECT_EQ(h->literal, c.literal) << c.text;
    EXPECT_EQ(h->str(), c.str) << c.text;
    // str() writes it back in a form that parses to the same next hop.
    const auto again = smart_host(h->str());
    ASSERT_TRUE(again) << h->str();
    EXPECT_EQ(again->host, h->host);
    EXPECT_EQ(again->port, h->port);
    EXPECT_EQ(again->literal, h->literal);
  }
}

TEST(ParseSmartHost, Rejects) {
  const std::string kForm =
      "write \"[host]:port\", \"[host]\", \"host:port\" or \"host\", e.g. \"[mail.example.net]:25\" or "
      "\"relay.example.net:2525\"";
  EXPECT_EQ(smart_host_error(""), "is empty; " + kForm);
  EXPECT_EQ(smart_host_error("2001:db8::1"),
            "\"2001:db8::1\" looks like an IPv6 address without brackets; write it as \"[2001:db8::1]:25\"");
  EXPECT_EQ(smart_host_error("2001:db8::1:25"),
            "\"2001:db8::1:25\" looks like an IPv6 address without brackets; write it as \"[2001:db8::1]:25\"");
  EXPECT_EQ(smart_host_error("[relay.example:25"), "\"[relay.example:25\" has no closing ']'; " + kForm);
  EXPECT_EQ(smart_host_error("[relay.example]25"), "\"[relay.example]25\" has \"25\" after ']'; " + kForm);
  EXPECT_EQ(smart_host_error("[relay.example]:"),
            "\"[relay.example]:\" has port \"\"; the port is a number from 1 to 65535");
  EXPECT_EQ(smart_host_error("relay.example:"),
            "\"relay.example:\" has port \"\"; the port is a number from 1 to 65535");
  EXPECT_EQ(smart_host_error("relay.example:0"),
            "\"relay.example:0\" has port \"0\"; the port is a number from 1 to 65535");
  EXPECT_EQ(smart_host_error("relay.example:65536"),
            "\"relay.example:65536\" has port \"65536\"; the port is a number from 1 to 65535");
  EXPECT_EQ(smart_host_error("relay.example:025x"),
            "\"relay.example:025x\" has port \"025x\"; the port is a number from 1 to 65535");
  EXPECT_EQ(smart_host_error("relay.example:-25"),
            "\"relay.example:-25\" has port \"-25\"; the port is a number from 1 to 65535");
  EXPECT_EQ(smart_host_error(":25"), "\":25\" has no host; " + kForm);
  EXPECT_EQ(smart_host_error("[]:25"), "\"[]:25\" has no host; " + kForm);
  EXPECT_EQ(smart_host_error("[2001:db8::zz]:25"),
            "\"2001:db8::zz\" is not an IPv6 address (zone indexes such as %eth0 are not supported)");
  EXPECT_EQ(smart_host_error("[fe80::1%eth0]:25"),
            "\"fe80::1%eth0\" is not an IPv6 address (zone indexes such as %eth0 are not supported)");
  EXPECT_EQ(smart_host_error("relay_1.example"),
            "\"relay_1.example\" contains \"_\"; a domain has only letters, digits, hyphens and dots");
  EXPECT_EQ(smart_host_error("relay.example.:25"), "\"relay.example.\" ends with a dot; write the domain without it");
  EXPECT_EQ(smart_host_error("relay example"),
            "\"relay example\" contains \" \"; a domain has only letters, digits, hyphens and dots");
  EXPECT_EQ(smart_host_error("-relay.example"), "\"-relay.example\" has a label that starts or ends with a hyphen");
  EXPECT_EQ(smart_host_error("10.0.0.256"), "\"10.0.0.256\" is neither an IPv4 address nor a host name");
  EXPECT_EQ(smart_host_error("[10.0.0]:25"), "\"10.0.0\" is neither an IPv4 address nor a host name");
  EXPECT_EQ(smart_host_error("12345"), "\"12345\" is neither an IPv4 address nor a host name");
}

// ---- choosing a connector ------------------------------------------------------------------

SendConnector send_connector_for(std::string name, std::vector<std::string> spaces) {
  SendConnector c;
  c.name = std::move(name);
  c.address_spaces = std::move(spaces);
  return c;
}

TEST(SelectSendConnector, MostSpecificSpaceWins) {
  Config config;
  config.send_connectors = {send_connector_for("all", {"*"}), send_connector_for("org", {"*.example.org"}),
                            send_connector_for("sub", {"*.sub.example.org"}),
                            send_connector_for("exact", {"example.org", "x.test"})};
  const SendConnector* all = &config.send_connectors[0];
  const SendConnector* org = &config.send_connectors[1];
  const SendConnector* sub = &config.send_connectors[2];
  const SendConnector* exact = &config.send_connectors[3];
  EXPECT_EQ(select_send_connector(config, "example.org"), exact);  // exact beats "*.example.org"
  EXPECT_EQ(select_send_connector(config, "x.test"), exact);
  EXPECT_EQ(select_send_connector(config, "mail.example.org"), org);
  EXPECT_EQ(select_send_connector(config, "sub.example.org"), sub);      // "*.suffix" covers the suffix itself
  EXPECT_EQ(select_send_connector(config, "a.b.sub.example.org"), sub);  // longer suffix wins
  EXPECT_EQ(select_send_connector(config, "notexample.org"), all);       // a suffix only at a label boundary
  EXPECT_EQ(select_send_connector(config, "example.org.evil.test"), all);
  EXPECT_EQ(select_send_connector(config, "y.x.test"), all);  // exact is exact: no subdomains
  EXPECT_EQ(select_send_connector(config, "MAIL.Example.ORG"), org);
  EXPECT_EQ(select_send_connector(config, "org"), all);
}

TEST(SelectSendConnector, OrderOfConnectorsDoesNotMatter) {
  Config config;
  config.send_connectors = {send_connector_for("sub", {"*.sub.example.org"}),
                            send_connector_for("exact", {"example.org"}), send_connector_for("org", {"*.example.org"}),
                            send_connector_for("all", {"*"})};
  EXPECT_EQ(select_send_connector(config, "a.sub.example.org")->name, "sub");
  EXPECT_EQ(select_send_connector(config, "a.example.org")->name, "org");
  EXPECT_EQ(select_send_connector(config, "example.org")->name, "exact");
  EXPECT_EQ(select_send_connector(config, "example.com")->name, "all");
}

TEST(SelectSendConnector, NullWhenNothingServesTheDomain) {
  Config config;
  EXPECT_EQ(select_send_connector(config, "example.org"), nullptr);  // no connectors at all
  config.send_connectors = {send_connector_for("org", {"*.example.org"}), send_connector_for("net", {"example.net"})};
  EXPECT_EQ(select_send_connector(config, "example.com"), nullptr);
  EXPECT_EQ(select_send_connector(config, "sub.example.net"), nullptr);
  EXPECT_EQ(select_send_connector(config, ""), nullptr);
}

TEST(SelectSendConnector, DefaultConnectorServesEveryDomain) {
  const Config config = default_config();
  ASSERT_NE(select_send_connector(config, "example.org"), nullptr);
  EXPECT_EQ(select_send_connector(config, "example.org")->name, "Default Outbound");
}

}  // namespace
}  // namespace sluice::config
