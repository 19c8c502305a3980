#include "config/config.h"
#include "config/config_test_util.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

namespace sluice::config {
namespace {

constexpr std::string_view kConnector = R"(
[[receive_connector]]
name = "Frontend"
listen = ["0.0.0.0:25"]
)";

std::string with_connector(std::string_view extra) { return std::string(kConnector) + std::string(extra); }

// ---- defaults -----------------------------------------------------------------------------

TEST(DefaultConfig, IsTheZeroConfigurationGateway) {
  const Config c = default_config();
  EXPECT_FALSE(c.hostname.empty());
  EXPECT_EQ(c.hostname.find(' '), std::string::npos);
  EXPECT_EQ(c.accepted_domains, (std::vector<AcceptedDomain>{{"localhost", DomainType::Authoritative}}));
  EXPECT_EQ(c.receive_connectors[0].relay, RelayPermission::None);
  EXPECT_TRUE(c.receive_connectors[0].relay_from.empty());
  EXPECT_EQ(c.receive_connectors[0].accepted_domain_senders, AcceptedDomainSenders::RelayClients);
  EXPECT_TRUE(c.notes.empty());
  EXPECT_TRUE(c.state_dir.is_absolute()) << c.state_dir;
  EXPECT_EQ(c.limits.max_message_size, 36700160u);
  EXPECT_EQ(c.limits.command_timeout, Seconds(300));
  ASSERT_EQ(c.receive_connectors.size(), 1u);
  const ReceiveConnector& d = c.receive_connectors[0];
  EXPECT_EQ(d.name, "Default");
  ASSERT_EQ(d.listen.size(), 2u);
  EXPECT_EQ(d.listen[0].str(), "127.0.0.1:2525");
  EXPECT_EQ(d.listen[1].str(), "[::1]:2525");
  ASSERT_EQ(d.remote_ranges.size(), 2u);
  EXPECT_EQ(d.remote_ranges[0].str(), "0.0.0.0/0");
  EXPECT_EQ(d.remote_ranges[1].str(), "::/0");
  EXPECT_TRUE(d.starttls);
  EXPECT_FALSE(d.require_tls);
  EXPECT_EQ(d.require_tls_reply.code, 451);
  EXPECT_EQ(d.require_tls_reply.enhanced, "5.7.3");
  ASSERT_EQ(d.require_tls_reply.lines.size(), 1u);
  EXPECT_EQ(d.require_tls_reply.lines[0], "Must issue a STARTTLS command first");
  EXPECT_EQ(d.tls.profile, "default");
  EXPECT_EQ(d.tls.min_version, tls::Version::Tls1_2);
}

TEST(DefaultConfig, StateDirFollowsXdgForUsers) {
  if (geteuid() == 0) {
    EXPECT_EQ(default_config().state_dir, "/var/lib/sluice");
    return;
  }
  const char* old = std::getenv("XDG_STATE_HOME");
  const std::string saved = old ? old : "";
  setenv("XDG_STATE_HOME", "/tmp/xdg-state", 1);
  EXPECT_EQ(default_config().state_dir, "/tmp/xdg-state/sluice");
  if (old)
    setenv("XDG_STATE_HOME", saved.c_str(), 1);
  else
    unsetenv("XDG_STATE_HOME");
}

TEST(ParseConfig, EmptyTextKeepsEveryDefault) {
  const Config c = parse_config("", "empty.toml");
  const Config d = default_config();
  EXPECT_EQ(c.hostname, d.hostname);
  EXPECT_EQ(c.accepted_domains, d.accepted_domains);
  ASSERT_EQ(c.receive_connectors.size(), 1u);
  EXPECT_EQ(c.receive_connectors[0].name, "Default");
  EXPECT_EQ(c.receive_connectors[0].listen, d.receive_connectors[0].listen);
}

TEST(ParseConfig, WithoutConnectorsKeepsTheDefaultConnector) {
  const Config c = parse_config("hostname = \"mx.example.org\"\n", "x.toml");
  ASSERT_EQ(c.receive_connectors.size(), 1u);
  EXPECT_EQ(c.receive_connectors[0].name, "Default");
  EXPECT_EQ(c.hostname, "mx.example.org");
}

// ---- a full configuration ----------------------------------------------------------------

TEST(ParseConfig, FullConfigRoundTrip) {
  const Config c = parse_config(R"toml(
state_dir = "/srv/sluice"
hostname = "mx.example.org"
local_domains = ["Example.ORG", "mail.example.net", "example.org"]
relay_from = ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"]

[limits]
max_message_size = 10485760
max_recipients = 50
max_errors = 3
max_junk_commands = 30
max_hop_count = 25
max_connections = 500
max_connections_per_ip = 5
max_command_line = 1024
max_text_line = 2000
command_timeout = "5m"
data_timeout = 120
tls_handshake_timeout = "1m30s"
shutdown_grace = "1h"

[[receive_connector]]
name = "Default Frontend"
listen = ["0.0.0.0:25", "[::]:25"]

[[receive_connector]]
name = "Partner (EXO)"
listen = ["0.0.0.0:25"]
remote_ranges = ["40.92.0.0/15", "2a01:111:f400::/48"]
relay = "none"
accepted_domain_senders = "anyone"
starttls = true
require_tls = true
require_tls_reply = "530 5.7.0 Must issue a STARTTLS command first"
[receive_connector.tls]
profile = "exchange-online"
min_version = "1.2"
max_version = "1.2"
certificate = "/etc/sluice/fullchain.pem"
key = "/etc/sluice/key.pem"
security_level = 1

[[receive_connector]]
name = "Old scanner"
listen = ["127.0.0.1:2526"]
remote_ranges = ["192.0.2.10"]
starttls = false
[receive_connector.tls]
profile = "legacy"
min_version = "1.0"
)toml",
                                "full.toml");
  EXPECT_EQ(c.state_dir, "/srv/sluice");
  EXPECT_EQ(c.hostname, "mx.example.org");
  EXPECT_EQ(c.accepted_domains, (std::vector<AcceptedDomain>{{"example.org", DomainType::Authoritative},
                                                             {"mail.example.net", DomainType::Authoritative}}));
  // The deprecated top-level relay_from: the connectors that set no relay permission get it.
  const ReceiveConnector& frontend = c.receive_connectors[0];
  EXPECT_EQ(frontend.relay, RelayPermission::Ranges);
  ASSERT_EQ(frontend.relay_from.size(), 3u);
  EXPECT_EQ(frontend.relay_from[0].str(), "10.0.0.0/8");
  EXPECT_EQ(frontend.relay_from[1].str(), "2001:db8::/32");
  EXPECT_EQ(frontend.relay_from[2].str(), "192.0.2.7/32");
  EXPECT_EQ(c.receive_connectors[1].relay, RelayPermission::None);
  EXPECT_TRUE(c.receive_connectors[1].relay_from.empty());
  EXPECT_EQ(c.receive_connectors[1].accepted_domain_senders, AcceptedDomainSenders::Anyone);
  EXPECT_EQ(c.receive_connectors[2].relay_from, frontend.relay_from);
  EXPECT_EQ(c.notes, std::vector<std::string>{
                         "full.toml: line 5: relay_from: the top-level relay_from is deprecated; it applies to the "
                         "receive connectors that set neither relay nor relay_from (\"Default Frontend\", \"Old "
                         "scanner\"); write relay_from = [...] in those [[receive_connector]] tables instead"});

  EXPECT_EQ(c.limits.max_message_size, 10485760u);
  EXPECT_EQ(c.limits.max_recipients, 50u);
  EXPECT_EQ(c.limits.max_errors, 3u);
  EXPECT_EQ(c.limits.max_junk_commands, 30u);
  EXPECT_EQ(c.limits.max_hop_count, 25u);
  EXPECT_EQ(c.limits.max_connections, 500u);
  EXPECT_EQ(c.limits.max_connections_per_ip, 5u);
  EXPECT_EQ(c.limits.max_command_line, 1024u);
  EXPECT_EQ(c.limits.max_text_line, 2000u);
  EXPECT_EQ(c.limits.command_timeout, Seconds(300));
  EXPECT_EQ(c.limits.data_timeout, Seconds(120));
  EXPECT_EQ(c.limits.tls_handshake_timeout, Seconds(90));
  EXPECT_EQ(c.limits.shutdown_grace, Seconds(3600));

  ASSERT_EQ(c.receive_connectors.size(), 3u);
  const ReceiveConnector& front = c.receive_connectors[0];
  EXPECT_EQ(front.name, "Default Frontend");
  ASSERT_EQ(front.listen.size(), 2u);
  EXPECT_EQ(front.listen[0].host, "0.0.0.0");
  EXPECT_EQ(front.listen[0].port, 25);
  EXPECT_EQ(front.listen[1].host, "::");
  EXPECT_EQ(front.listen[1].str(), "[::]:25");
  ASSERT_EQ(front.remote_ranges.size(), 2u);  // the default: everyone
  EXPECT_TRUE(front.starttls);
  EXPECT_FALSE(front.require_tls);
  EXPECT_EQ(front.require_tls_reply.code, 451);
  EXPECT_EQ(front.tls.profile, "default");

  const ReceiveConnector& exo = c.receive_connectors[1];
  EXPECT_EQ(exo.name, "Partner (EXO)");
  ASSERT_EQ(exo.remote_ranges.size(), 2u);
  EXPECT_EQ(exo.remote_ranges[0].str(), "40.92.0.0/15");
  EXPECT_EQ(exo.remote_ranges[1].str(), "2a01:111:f400::/48");
  EXPECT_TRUE(exo.require_tls);
  EXPECT_EQ(exo.require_tls_reply.code, 530);
  EXPECT_EQ(exo.require_tls_reply.enhanced, "5.7.0");
  EXPECT_EQ(exo.tls.profile, "exchange-online");
  EXPECT_EQ(exo.tls.min_version, tls::Version::Tls1_2);
  EXPECT_EQ(exo.tls.max_version, tls::Version::Tls1_2);
  EXPECT_EQ(exo.tls.certificate, "/etc/sluice/fullchain.pem");
  EXPECT_EQ(exo.tls.key, "/etc/sluice/key.pem");
  EXPECT_EQ(exo.tls.security_level, 1);
  // Keys not given come from the profile.
  EXPECT_EQ(exo.tls.ciphers, tls::named_policy("exchange-online")->ciphers);

  const ReceiveConnector& old = c.receive_connectors[2];
  EXPECT_FALSE(old.starttls);
  EXPECT_EQ(old.tls.profile, "legacy");
  EXPECT_EQ(old.tls.min_version, tls::Version::Tls1_0);
  EXPECT_EQ(old.tls.security_level, 0);
  EXPECT_TRUE(old.tls.allows_legacy_versions());

  EXPECT_TRUE(is_local_domain(c, "example.org"));
  EXPECT_TRUE(is_local_domain(c, "mail.example.net"));
  EXPECT_FALSE(is_local_domain(c, "sub.example.org"));
  EXPECT_FALSE(is_local_domain(c, "localhost"));  // replaced, not merged
  const auto relays = [&](const char* client) {
    const auto address = asio::ip::make_address(client);
    const auto& ranges = c.receive_connectors[0].relay_from;
    return std::any_of(ranges.begin(), ranges.end(), [&](const net::Cidr& r) { return r.contains(address); });
  };
  EXPECT_TRUE(relays("10.20.30.40"));
  EXPECT_TRUE(relays("::ffff:10.20.30.40"));
  EXPECT_TRUE(relays("2001:db8::25"));
  EXPECT_TRUE(relays("192.0.2.7"));
  EXPECT_FALSE(relays("192.0.2.8"));
  EXPECT_FALSE(relays("203.0.113.1"));
}

TEST(ParseConfig, LocalDeliveryIsMaildirUnlessDiscardIsAsked) {
  EXPECT_EQ(default_config().local_delivery, LocalDelivery::Maildir);
  EXPECT_EQ(parse_config("", "x.toml").local_delivery, LocalDelivery::Maildir);
  EXPECT_EQ(parse_config("local_delivery = \"maildir\"\n", "x.toml").local_delivery, LocalDelivery::Maildir);
  EXPECT_EQ(parse_config("local_delivery = \"discard\"\n", "x.toml").local_delivery, LocalDelivery::Discard);
  EXPECT_CONFIG_ERROR("\nlocal_delivery = \"Discard\"\n",
                      "sluice.toml: line 2: local_delivery: \"Discard\" is not one of maildir, discard");
  EXPECT_CONFIG_ERROR("local_delivery = 1\n", "local_delivery");
}

TEST(ParseConfig, RelayIsOffByDefault) {
  const Config c = parse_config("", "x.toml");
  ASSERT_EQ(c.receive_connectors.size(), 1u);
  EXPECT_EQ(c.receive_connectors[0].relay, RelayPermission::None);
  EXPECT_TRUE(c.receive_connectors[0].relay_from.empty());
}

// ---- syntax, unknown keys, types -----------------------------------------------------------

TEST(ConfigErrors, TomlSyntaxErrorNamesFileAndLine) {
  const std::string e = error_of("hostname = \"mx\"\nlocal_domains = [\"a\"\n");
  EXPECT_EQ(e.rfind("sluice.toml: line ", 0), 0u) << e;
  EXPECT_CONFIG_ERROR("hostname = \"mx\"\n\nstate_dir = = 3\n", "sluice.toml: line 3: ");
  EXPECT_CONFIG_ERROR("hostname = \"a\"\nhostname = \"b\"\n", "sluice.toml: line 2: ");
}

TEST(ConfigErrors, UnknownTopLevelKeySuggestsTheNearOne) {
  EXPECT_CONFIG_ERROR("\nhostnme = \"mx\"\n", "sluice.toml: line 2: unknown key 'hostnme' (did you mean 'hostname'?)");
  EXPECT_CONFIG_ERROR("state_dri = \"/x\"\n", "unknown key 'state_dri' (did you mean 'state_dir'?)");
}

TEST(ConfigErrors, UnknownKeyWithNothingCloseHasNoSuggestion) {
  const std::string e = error_of("colour = \"blue\"\n");
  EXPECT_NE(e.find("unknown key 'colour'"), std::string::npos) << e;
  EXPECT_EQ(e.find("did you mean"), std::string::npos) << e;
}

TEST(ConfigErrors, UnknownConnectorKeyNamesThePath) {
  EXPECT_CONFIG_ERROR(with_connector("requre_tls = true\n"),
                      "sluice.toml: line 5: receive_connector[0]: unknown key 'requre_tls' (did you "
                      "mean 'require_tls'?)");
}

TEST(ConfigErrors, UnknownKeysInLimitsAndTls) {
  EXPECT_CONFIG_ERROR("[limits]\nmax_recipient = 3\n",
                      "line 2: limits: unknown key 'max_recipient' (did you mean 'max_recipients'?)");
  EXPECT_CONFIG_ERROR(with_connector("[receive_connector.tls]\nmin_verison = \"1.2\"\n"),
                      "receive_connector[0].tls: unknown key 'min_verison' (did you mean 'min_version'?)");
}

TEST(ConfigErrors, WrongTypesNameTheExpectedType) {
  EXPECT_CONFIG_ERROR("hostname = 5\n", "sluice.toml: line 1: hostname: expected a string, got an integer");
  EXPECT_CONFIG_ERROR("local_domains = \"example.org\"\n", "local_domains: expected an array, got a string");
  EXPECT_CONFIG_ERROR("relay_from = [\"10.0.0.0/8\", 12]\n", "relay_from[1]: expected a string, got an integer");
  EXPECT_CONFIG_ERROR(with_connector("starttls = \"yes\"\n"),
                      "receive_connector[0].starttls: expected a boolean, got a string");
  EXPECT_CONFIG_ERROR("limits = 3\n", "limits: expected a table, got an integer");
  EXPECT_CONFIG_ERROR("[limits]\nmax_recipients = 2.5\n", "limits.max_recipients: expected an integer, got a float");
  EXPECT_CONFIG_ERROR(with_connector("tls = \"legacy\"\n"), "receive_connector[0].tls: expected a table, got a string");
  EXPECT_CONFIG_ERROR(with_connector("[receive_connector.tls]\nsecurity_level = \"2\"\n"),
                      "receive_connector[0].tls.security_level: expected an integer, got a string");
}

TEST(ConfigErrors, ReceiveConnectorMustBeAnArrayOfTables) {
  EXPECT_CONFIG_ERROR("[receive_connector]\nname = \"x\"\n",
                      "receive_connector: expected an array of tables ([[receive_connector]]), got a table");
  EXPECT_CONFIG_ERROR("receive_connector = []\n", "receive_connector: no connector given");
}

TEST(ConfigErrors, ValuesWithControlCharactersStayOnOneLine) {
  const std::string e = error_of("hostname = \"mx\\nexample\"\n");
  EXPECT_NE(e.find("\"mx\\x0aexample\" contains a character that is not printable ASCII"), std::string::npos) << e;
}

// ---- top-level values ----------------------------------------------------------------------

TEST(ConfigErrors, Hostname) {
  EXPECT_CONFIG_ERROR("hostname = \"\"\n", "hostname: is empty");
  EXPECT_CONFIG_ERROR("hostname = \"mx example.org\"\n", "hostname: \"mx example.org\" contains a space");
}

TEST(ConfigErrors, StateDirMustNotBeEmpty) {
  EXPECT_CONFIG_ERROR("state_dir = \"\"\n", "state_dir: must not be empty");
}

TEST(ConfigErrors, LocalDomains) {
  EXPECT_CONFIG_ERROR("local_domains = [\"example.org.\"]\n",
                      "local_domains[0]: \"example.org.\" ends with a dot; write the domain without it");
  EXPECT_CONFIG_ERROR("local_domains = [\"ok.org\", \"exa mple.org\"]\n",
                      "local_domains[1]: \"exa mple.org\" contains \" \"");
  EXPECT_CONFIG_ERROR("local_domains = [\"a..org\"]\n", "has an empty label");
  EXPECT_CONFIG_ERROR("local_domains = [\".org\"]\n", "has an empty label");
  EXPECT_CONFIG_ERROR("local_domains = [\"\"]\n", "local_domains[0]: is empty");
  EXPECT_CONFIG_ERROR("local_domains = [\"-a.org\"]\n", "starts or ends with a hyphen");
  EXPECT_CONFIG_ERROR("local_domains = [\"b\u00fccher.de\"]\n", "xn-- (A-label) form");
  EXPECT_CONFIG_ERROR("local_domains = [\"@example.org\"]\n", "contains \"@\"");
  EXPECT_CONFIG_ERROR("local_domains = [\"" + std::string(64, 'a') + ".org\"]\n",
                      "has a label longer than 63 characters");
}

TEST(ParseConfig, LocalDomainsMayBeEmptyForAPureRelay) {
  EXPECT_TRUE(parse_config("local_domains = []\n", "x.toml").accepted_domains.empty());
}

TEST(ConfigErrors, RelayFromRanges) {
  EXPECT_CONFIG_ERROR("relay_from = [\"10.1.2.3/8\"]\n",
                      "sluice.toml: line 1: relay_from[0]: \"10.1.2.3/8\" has host bits set below the /8 "
                      "prefix: the network is \"10.0.0.0/8\"");
  EXPECT_CONFIG_ERROR("relay_from = [\"localnet\"]\n", "relay_from[0]: \"localnet\" is not an address range");
}

TEST(ConfigErrors, MaxMessageSize) {
  EXPECT_CONFIG_ERROR("max_message_size = 0\n", "max_message_size: must be greater than 0, got 0");
  EXPECT_CONFIG_ERROR("max_message_size = -5\n", "max_message_size: must be greater than 0, got -5");
  EXPECT_CONFIG_ERROR("max_message_size = \"35MB\"\n", "max_message_size: expected an integer, got a string");
  EXPECT_CONFIG_ERROR("max_message_size = 100\n[limits]\nmax_message_size = 200\n",
                      "line 3: limits.max_message_size: also given at the top level (line 1); keep one of the two");
}

TEST(ParseConfig, MaxMessageSizeAtTopOrInLimits) {
  EXPECT_EQ(parse_config("max_message_size = 1000\n", "x").limits.max_message_size, 1000u);
  EXPECT_EQ(parse_config("[limits]\nmax_message_size = 2000\n", "x").limits.max_message_size, 2000u);
}

TEST(ConfigErrors, EveryCountLimitMustBePositive) {
  for (const char* key : {"max_recipients", "max_errors", "max_connections", "max_connections_per_ip",
                          "max_command_line", "max_text_line", "max_junk_commands", "max_hop_count"}) {
    EXPECT_CONFIG_ERROR(std::string("[limits]\n") + key + " = 0\n",
                        std::string("line 2: limits.") + key + ": must be greater than 0, got 0");
  }
}

TEST(ConfigErrors, EveryDurationLimitMustBePositive) {
  for (const char* key : {"command_timeout", "data_timeout", "tls_handshake_timeout", "shutdown_grace"}) {
    EXPECT_CONFIG_ERROR(std::string("[limits]\n") + key + " = 0\n",
                        std::string("limits.") + key + ": must be greater than 0, got 0");
    EXPECT_CONFIG_ERROR(std::string("[limits]\n") + key + " = \"0s\"\n",
                        std::string("limits.") + key + ": must be greater than 0, got 0");
  }
}

TEST(ConfigErrors, DurationsExplainTheirForm) {
  EXPECT_CONFIG_ERROR("[limits]\ncommand_timeout = \"5 m\"\n",
                      "limits.command_timeout: \"5 m\" is not a duration; write whole seconds (300) or a "
                      "string such as \"30s\", \"5m\", \"1h\", \"1h30m\"");
  EXPECT_CONFIG_ERROR("[limits]\ncommand_timeout = \"300\"\n", "\"300\" is not a duration");
  EXPECT_CONFIG_ERROR("[limits]\ncommand_timeout = true\n",
                      "limits.command_timeout: expected an integer number of seconds or a string such as "
                      "\"5m\", got a boolean");
  EXPECT_CONFIG_ERROR("[limits]\ndata_timeout = \"9000h\"\n", "limits.data_timeout: must not be longer than 365 days");
  EXPECT_CONFIG_ERROR("[limits]\ndata_timeout = 99999999999\n", "must not be longer than 365 days");
}

TEST(ParseDuration, Forms) {
  EXPECT_EQ(parse_duration("30s"), Seconds(30));
  EXPECT_EQ(parse_duration("5m"), Seconds(300));
  EXPECT_EQ(parse_duration("1h"), Seconds(3600));
  EXPECT_EQ(parse_duration("1h30m"), Seconds(5400));
  EXPECT_EQ(parse_duration("2h5m10s"), Seconds(7510));
  EXPECT_EQ(parse_duration("90m"), Seconds(5400));
  EXPECT_EQ(parse_duration("0s"), Seconds(0));
  EXPECT_EQ(parse_duration("8760h"), Seconds(8760 * 3600));
  for (const char* bad :
       {"", "30", "s", "5m1h", "1h1h", "1x", "1.5h", "-5s", "5 m", " 5m", "5m ", "1d", "8761h", "99999999999s", "5M"}) {
    EXPECT_FALSE(parse_duration(bad)) << bad;
  }
}

// ---- connectors ----------------------------------------------------------------------------

TEST(ConfigErrors, ConnectorNames) {
  EXPECT_CONFIG_ERROR("[[receive_connector]]\nlisten = [\"0.0.0.0:25\"]\n",
                      "sluice.toml: line 1: receive_connector[0]: missing key 'name'");
  EXPECT_CONFIG_ERROR("[[receive_connector]]\nname = \"\"\nlisten = [\"0.0.0.0:25\"]\n",
                      "line 2: receive_connector[0].name: must not be empty");
  EXPECT_CONFIG_ERROR(with_connector("[[receive_connector]]\nname = \"frontend\"\nlisten = [\"0.0.0.0:26\"]\n"),
                      "line 6: receive_connector[1].name: \"frontend\" is already the name of receive_connector[0]");
}

TEST(ConfigErrors, ListenAddresses) {
  EXPECT_CONFIG_ERROR("[[receive_connector]]\nname = \"a\"\n",
                      "receive_connector[0]: missing key 'listen' (e.g. listen = [\"0.0.0.0:25\", \"[::]:25\"])");
  EXPECT_CONFIG_ERROR("[[receive_connector]]\nname = \"a\"\nlisten = []\n",
                      "line 3: receive_connector[0].listen: must list at least one address");
  EXPECT_CONFIG_ERROR("[[receive_connector]]\nname = \"a\"\nlisten = [\"localhost:25\"]\n",
                      "receive_connector[0].listen[0]: \"localhost\" is not a numeric IPv4 address (host names "
                      "are not resolved); write \"IPv4:port\" or \"[IPv6]:port\" with a numeric address, e.g. "
                      "\"0.0.0.0:25\" or \"[::]:25\"");
  EXPECT_CONFIG_ERROR("[[receive_connector]]\nname = \"a\"\nlisten = [\"0.0.0.0:25\", \"0.0.0.0:25\"]\n",
                      "receive_connector[0].listen[1]: 0.0.0.0:25 is listed twice");
  EXPECT_CONFIG_ERROR("[[receive_connector]]\nname = \"a\"\nlisten = \"0.0.0.0:25\"\n",
                      "receive_connector[0].listen: expected an array, got a string");
}

TEST(ListenAddress, ParsesNumericForms) {
  auto a = parse_listen_address("127.0.0.1:2525");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 2525);
  EXPECT_EQ(a->str(), "127.0.0.1:2525");
  auto b = parse_listen_address("[::1]:25");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->str(), "[::1]:25");
  auto c = parse_listen_address("[0:0::0]:65535");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "::");
  EXPECT_EQ(c->port, 65535);
  EXPECT_EQ(*c, *parse_listen_address("[::]:65535"));
}

TEST(ListenAddress, RejectsOtherForms) {
  for (const char* bad : {"", "0.0.0.0", "0.0.0.0:", "0.0.0.0:0", "0.0.0.0:65536", "0.0.0.0:25x", "0.0.0.0:+25",
                          "::1:25", "[::1]25", "[::1]", "[127.0.0.1]:25", "localhost:25", "*:25", ":25",
                          "[fe80::1%eth0]:25", "[::1:25", "1.2.3:25", "0.0.0.0:100000"}) {
    auto address = parse_listen_address(bad);
    EXPECT_FALSE(address) << bad;
    if (!address) {
      EXPECT_FALSE(address.error().message.empty()) << bad;
    }
  }
  auto why = [](std::string_view text) {
    auto address = parse_listen_address(text);
    return address ? std::string("accepted") : address.error().message;
  };
  EXPECT_NE(why("::1:25").find("looks like an IPv6 address without brackets"), std::string::npos) << why("::1:25");
  EXPECT_NE(why("0.0.0.0").find("has no port"), std::string::npos) << why("0.0.0.0");
  EXPECT_NE(why("0.0.0.0:0").find("the port is a number from 1 to 65535"), std::string::npos) << why("0.0.0.0:0");
}

TEST(ConfigErrors, RemoteRanges) {
  EXPECT_CONFIG_ERROR(with_connector("remote_ranges = []\n"),
                      "receive_connector[0].remote_ranges: an empty list matches no client; leave the key out "
                      "to accept every client");
  EXPECT_CONFIG_ERROR(with_connector("remote_ranges = [\"0.0.0.0/0\", \"2001:db8::1/64\"]\n"),
                      "line 5: receive_connector[0].remote_ranges[1]: \"2001:db8::1/64\" has host bits set");
}

TEST(ConfigErrors, RequireTls) {
  EXPECT_CONFIG_ERROR(with_connector("starttls = false\nrequire_tls = true\n"),
                      "line 6: receive_connector[0].require_tls: require_tls = true needs starttls = true");
  EXPECT_CONFIG_ERROR(with_connector("require_tls_reply = \"250 2.0.0 ok\"\n"),
                      "receive_connector[0].require_tls_reply: \"250 2.0.0 ok\" is not a reply of the form "
                      "\"451 5.7.3 text\"");
  EXPECT_CONFIG_ERROR(with_connector("require_tls_reply = \"451 5.7 no detail\"\n"), "is not a reply of the form");
  EXPECT_CONFIG_ERROR(with_connector("require_tls_reply = \"451 5.7.3\"\n"), "is not a reply of the form");
  EXPECT_CONFIG_ERROR(with_connector("require_tls_reply = 451\n"),
                      "receive_connector[0].require_tls_reply: expected a string, got an integer");
}

TEST(ParseConfig, ExchangeOnlineReplyIsAccepted) {
  // EXO's own text pairs a 4xx code with a 5.x.x enhanced code; administrators copy it verbatim.
  const Config c =
      parse_config(with_connector("require_tls_reply = \"451 5.7.3 Must issue a STARTTLS command first\"\n"), "x");
  const ReceiveConnector& r = c.receive_connectors[0];
  EXPECT_EQ(r.require_tls_reply.code, 451);
  EXPECT_EQ(r.require_tls_reply.enhanced, "5.7.3");
  EXPECT_EQ(r.require_tls_reply.lines, std::vector<std::string>{"Must issue a STARTTLS command first"});
}

TEST(ParseConfig, RequireTlsReplyIsParsed) {
  const Config c = parse_config(with_connector("require_tls = true\nrequire_tls_reply = \"530 5.7.0 "
                                               "STARTTLS is required to send mail\"\n"),
                                "x");
  const ReceiveConnector& r = c.receive_connectors[0];
  EXPECT_TRUE(r.require_tls);
  EXPECT_EQ(r.require_tls_reply.code, 530);
  EXPECT_EQ(r.require_tls_reply.enhanced, "5.7.0");
  EXPECT_EQ(r.require_tls_reply.lines, std::vector<std::string>{"STARTTLS is required to send mail"});
}

TEST(ConfigErrors, AmbiguousConnectorsOnOneAddress) {
  // Both connectors default to every client on the same address.
  EXPECT_CONFIG_ERROR(with_connector("[[receive_connector]]\nname = \"Second\"\nlisten = [\"127.0.0.1:25\", "
                                     "\"0.0.0.0:25\"]\n"),
                      "sluice.toml: line 5: receive_connector[1].remote_ranges: 0.0.0.0/0 on 0.0.0.0:25 is also a "
                      "remote range of connector \"Frontend\" on the same address");
  EXPECT_CONFIG_ERROR(with_connector("remote_ranges = [\"10.0.0.0/8\"]\n[[receive_connector]]\nname = \"Second\"\n"
                                     "listen = [\"0.0.0.0:25\"]\nremote_ranges = [\"192.0.2.0/24\", "
                                     "\"::ffff:10.0.0.0/104\"]\n"),
                      "line 9: receive_connector[1].remote_ranges: 10.0.0.0/8 on 0.0.0.0:25");
}

TEST(ParseConfig, SameAddressWithDifferentRangesIsFine) {
  const Config c = parse_config(with_connector("[[receive_connector]]\nname = \"Partner\"\nlisten = "
                                               "[\"0.0.0.0:25\"]\nremote_ranges = [\"203.0.113.0/24\"]\n"
                                               "[[receive_connector]]\nname = \"Other port\"\nlisten = "
                                               "[\"0.0.0.0:587\"]\n"),
                                "x");
  EXPECT_EQ(c.receive_connectors.size(), 3u);
}

// ---- TLS -----------------------------------------------------------------------------------

std::string tls_block(std::string_view keys) { return with_connector("[receive_connector.tls]\n" + std::string(keys)); }

TEST(ConfigErrors, TlsVersions) {
  EXPECT_CONFIG_ERROR(tls_block("min_version = \"1.5\"\n"),
                      "sluice.toml: line 6: receive_connector[0].tls.min_version: \"1.5\" is not one of 1.0, "
                      "1.1, 1.2, 1.3");
  EXPECT_CONFIG_ERROR(tls_block("max_version = \"TLSv1.3\"\n"),
                      "receive_connector[0].tls.max_version: \"TLSv1.3\" is not one of 1.0, 1.1, 1.2, 1.3");
  EXPECT_CONFIG_ERROR(tls_block("min_version = \"1.3\"\nmax_version = \"1.2\"\n"),
                      "receive_connector[0].tls: min_version 1.3 is above max_version 1.2");
}

TEST(ConfigErrors, OldTlsNeedsTheLegacyProfile) {
  EXPECT_CONFIG_ERROR(tls_block("min_version = \"1.0\"\n"),
                      "sluice.toml: line 6: receive_connector[0].tls.min_version: min_version 1.0 needs profile = "
                      "\"legacy\" (TLS 1.0/1.1 exist only when asked for; OpenSSL 3 needs security level 0)");
  EXPECT_CONFIG_ERROR(tls_block("profile = \"exchange-online\"\nmin_version = \"1.1\"\n"),
                      "min_version 1.1 needs profile = \"legacy\"");
  // Even the legacy profile cannot do TLS 1.0 once the security level is raised again.
  EXPECT_CONFIG_ERROR(tls_block("profile = \"legacy\"\nsecurity_level = 2\n"),
                      "line 7: receive_connector[0].tls.min_version: min_version 1.0 needs security_level = 0 "
                      "(OpenSSL 3 refuses TLS 1.0/1.1 at level 1 and above), but security_level is 2");
}

TEST(ParseConfig, OldTlsWithLegacyProfileOrLevelZero) {
  const Config a = parse_config(tls_block("profile = \"legacy\"\nmin_version = \"1.1\"\n"), "x");
  EXPECT_EQ(a.receive_connectors[0].tls.min_version, tls::Version::Tls1_1);
  const Config b = parse_config(tls_block("security_level = 0\nmin_version = \"1.0\"\n"), "x");
  EXPECT_EQ(b.receive_connectors[0].tls.min_version, tls::Version::Tls1_0);
  EXPECT_EQ(b.receive_connectors[0].tls.profile, "default");
  // The legacy profile can be narrowed back to modern versions.
  const Config c = parse_config(tls_block("profile = \"legacy\"\nmin_version = \"1.2\"\n"), "x");
  EXPECT_FALSE(c.receive_connectors[0].tls.allows_legacy_versions());
}

TEST(ConfigErrors, TlsProfileAndLevel) {
  EXPECT_CONFIG_ERROR(tls_block("profile = \"modern\"\n"),
                      "receive_connector[0].tls.profile: \"modern\" is not one of default, exchange-online, legacy");
  EXPECT_CONFIG_ERROR(tls_block("security_level = 6\n"),
                      "receive_connector[0].tls.security_level: must be an OpenSSL security level from 0 to 5, got 6");
  EXPECT_CONFIG_ERROR(tls_block("security_level = -1\n"), "from 0 to 5, got -1");
}

TEST(ConfigErrors, CertificateAndKeyTogether) {
  EXPECT_CONFIG_ERROR(tls_block("certificate = \"/etc/c.pem\"\n"),
                      "line 6: receive_connector[0].tls: certificate is given without key; give both or neither");
  EXPECT_CONFIG_ERROR(tls_block("key = \"/etc/k.pem\"\n"),
                      "receive_connector[0].tls: key is given without certificate; give both or neither");
  EXPECT_CONFIG_ERROR(tls_block("key = \"\"\ncertificate = \"/c\"\n"),
                      "receive_connector[0].tls.key: must not be empty");
}

TEST(ConfigErrors, CipherLists) {
  EXPECT_CONFIG_ERROR(tls_block("ciphers = \"NO-SUCH-CIPHER:ALSO-NOT\"\n"),
                      "receive_connector[0].tls.ciphers: \"NO-SUCH-CIPHER:ALSO-NOT\" selects no cipher OpenSSL knows");
  EXPECT_CONFIG_ERROR(tls_block("ciphers = \"\"\n"), "receive_connector[0].tls.ciphers: must not be empty");
  EXPECT_CONFIG_ERROR(tls_block("ciphersuites = \"TLS_AES_256_GCM_SHA384:TLS_AES_512\"\n"),
                      "receive_connector[0].tls.ciphersuites: \"TLS_AES_512\" is not a TLS 1.3 suite");
  EXPECT_CONFIG_ERROR(tls_block("ciphersuites = \"TLS_AES_256_GCM_SHA384:\"\n"), "\"\" is not a TLS 1.3 suite");
  EXPECT_CONFIG_ERROR(tls_block("ciphersuites = \"\"\n"),
                      "ciphersuites: is empty; to turn TLS 1.3 off set max_version = \"1.2\" instead");
}

TEST(ParseConfig, TlsKeysOverrideTheProfile) {
  const Config c = parse_config(tls_block("profile = \"exchange-online\"\nmin_version = \"1.3\"\n"
                                          "ciphers = \"ECDHE-RSA-AES256-GCM-SHA384\"\n"
                                          "ciphersuites = \"TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256\"\n"),
                                "x");
  const tls::Policy& p = c.receive_connectors[0].tls;
  EXPECT_EQ(p.profile, "exchange-online");
  EXPECT_EQ(p.min_version, tls::Version::Tls1_3);
  EXPECT_EQ(p.max_version, tls::Version::Tls1_3);
  EXPECT_EQ(p.ciphers, "ECDHE-RSA-AES256-GCM-SHA384");
  EXPECT_EQ(p.ciphersuites, "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
  EXPECT_EQ(p.security_level, tls::named_policy("exchange-online")->security_level);
}

// ---- selection -----------------------------------------------------------------------------

ReceiveConnector receive_connector_in(std::string name, const std::vector<const char*>& ranges) {
  ReceiveConnector c;
  c.name = std::move(name);
  for (const char* r : ranges) c.remote_ranges.push_back(*net::Cidr::parse(r));
  return c;
}

TEST(SelectConnector, MostSpecificRangeWins) {
  const ReceiveConnector all = receive_connector_in("all", {"0.0.0.0/0", "::/0"});
  const ReceiveConnector partner = receive_connector_in("partner", {"203.0.113.0/24", "2001:db8::/32"});
  const ReceiveConnector host = receive_connector_in("host", {"203.0.113.7"});
  const std::vector<const ReceiveConnector*> candidates = {&all, &partner, &host};
  EXPECT_EQ(select_connector(candidates, asio::ip::make_address("198.51.100.1")), &all);
  EXPECT_EQ(select_connector(candidates, asio::ip::make_address("203.0.113.8")), &partner);
  EXPECT_EQ(select_connector(candidates, asio::ip::make_address("203.0.113.7")), &host);
  EXPECT_EQ(select_connector(candidates, asio::ip::make_address("::ffff:203.0.113.7")), &host);
  EXPECT_EQ(select_connector(candidates, asio::ip::make_address("::ffff:203.0.113.9")), &partner);
  EXPECT_EQ(select_connector(candidates, asio::ip::make_address("2001:db8::5")), &partner);
  EXPECT_EQ(select_connector(candidates, asio::ip::make_address("2001:db9::5")), &all);
  // Order of the candidates does not matter.
  EXPECT_EQ(select_connector({&host, &partner, &all}, asio::ip::make_address("203.0.113.8")), &partner);
}

TEST(SelectConnector, NullWhenNoRangeContainsTheClient) {
  const ReceiveConnector v4only = receive_connector_in("v4", {"10.0.0.0/8"});
  EXPECT_EQ(select_connector({&v4only}, asio::ip::make_address("192.0.2.1")), nullptr);
  EXPECT_EQ(select_connector({&v4only}, asio::ip::make_address("2001:db8::1")), nullptr);
  EXPECT_EQ(select_connector({}, asio::ip::make_address("10.0.0.1")), nullptr);
}

TEST(SelectConnector, WorksOnParsedConfig) {
  const Config c = parse_config(R"toml(
[[receive_connector]]
name = "Frontend"
listen = ["0.0.0.0:25"]
[[receive_connector]]
name = "EXO"
listen = ["0.0.0.0:25"]
remote_ranges = ["40.92.0.0/15"]
require_tls = true
)toml",
                                "x");
  std::vector<const ReceiveConnector*> candidates;
  for (const auto& r : c.receive_connectors) candidates.push_back(&r);
  const ReceiveConnector* chosen = select_connector(candidates, asio::ip::make_address("40.93.1.1"));
  ASSERT_NE(chosen, nullptr);
  EXPECT_EQ(chosen->name, "EXO");
  EXPECT_TRUE(chosen->require_tls);
  EXPECT_EQ(select_connector(candidates, asio::ip::make_address("8.8.8.8"))->name, "Frontend");
}

// ---- files ---------------------------------------------------------------------------------

TEST(LoadConfig, ErrorsNameTheFile) {
  const std::string dir = ::testing::TempDir();
  const std::string path = dir + "/sluice_config_test_bad.toml";
  {
    std::ofstream out(path);
    out << "hostname = \"mx.example.org\"\n\n[limits]\ncommand_timeout = \"soon\"\n";
  }
  try {
    load_config(path);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": line 4: limits.command_timeout: \"soon\" is not a duration", 0), 0u)
        << e.what();
  }
  std::remove(path.c_str());
}

TEST(LoadConfig, MissingFileAndDirectory) {
  try {
    load_config("/nonexistent/sluice.toml");
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/sluice.toml: cannot read: No such file or directory");
  }
  try {
    load_config("/tmp");
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "/tmp: is a directory, not a configuration file");
  }
}

TEST(LoadConfig, ReadsAValidFile) {
  const std::string path = ::testing::TempDir() + "/sluice_config_test_good.toml";
  {
    std::ofstream out(path);
    out << "hostname = \"gw.example.net\"\nlocal_domains = [\"Example.NET\"]\n";
  }
  const Config c = load_config(path);
  EXPECT_EQ(c.hostname, "gw.example.net");
  EXPECT_EQ(c.accepted_domains, (std::vector<AcceptedDomain>{{"example.net", DomainType::Authoritative}}));
  std::remove(path.c_str());
}

/// The source tree: $SLUICE_SOURCE_DIR, else the nearest directory above the working directory
/// (then above this file) holding CMakeLists.txt and docs/.
std::filesystem::path source_dir() {
  if (const char* env = std::getenv("SLUICE_SOURCE_DIR"); env && *env) return env;
  for (const std::filesystem::path& start :
       {std::filesystem::current_path(), std::filesystem::path(__FILE__).parent_path()}) {
    for (auto dir = std::filesystem::absolute(start); !dir.empty(); dir = dir.parent_path()) {
      if (std::filesystem::exists(dir / "CMakeLists.txt") && std::filesystem::exists(dir / "docs")) return dir;
      if (dir == dir.parent_path()) break;
    }
  }
  return {};
}

TEST(ExampleFile, Parses) {
  const std::filesystem::path root = source_dir();
  ASSERT_FALSE(root.empty()) << "cannot find the source tree from " << std::filesystem::current_path()
                             << ": set SLUICE_SOURCE_DIR or run the tests from inside the tree";
  const std::filesystem::path example = root / "docs" / "sluice.example.toml";
  ASSERT_TRUE(std::filesystem::exists(example)) << example << " is missing";
  Config c;
  ASSERT_NO_THROW(c = load_config(example)) << [&] {
    try {
      load_config(example);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string();
  }();
  EXPECT_EQ(c.hostname, "mx.example.org");
  ASSERT_EQ(c.receive_connectors.size(), 5u);
  // The documented scenario: EXO's range on the shared address gets the require_tls connector.
  const std::vector<const ReceiveConnector*> port25 = {&c.receive_connectors[0], &c.receive_connectors[1]};
  const ReceiveConnector* exo = select_connector(port25, asio::ip::make_address("40.92.10.20"));
  ASSERT_NE(exo, nullptr);
  EXPECT_TRUE(exo->require_tls);
  EXPECT_EQ(exo->tls.profile, "exchange-online");
  EXPECT_FALSE(select_connector(port25, asio::ip::make_address("198.51.100.3"))->require_tls);
  EXPECT_TRUE(c.receive_connectors[3].tls.allows_legacy_versions());
  // Devices that authenticate, relaying per their users-file entry.
  EXPECT_EQ(c.users_file, "/etc/sluice/users");
  EXPECT_EQ(c.user, "sluice");
  EXPECT_TRUE(c.receive_connectors[4].auth);
  EXPECT_EQ(c.receive_connectors[4].relay, RelayPermission::Authenticated);
  EXPECT_FALSE(c.receive_connectors[4].allow_plaintext_auth);
  EXPECT_EQ(c.receive_connectors[4].max_auth_failures, 3u);
  EXPECT_EQ(c.receive_connectors[4].auth_mechanisms,
            (std::vector{ReceiveAuthMechanism::Plain, ReceiveAuthMechanism::Login}));
  // Exchange's three connectors: anonymous, partner, internal.
  EXPECT_EQ(c.receive_connectors[0].relay, RelayPermission::None);
  EXPECT_EQ(c.receive_connectors[0].accepted_domain_senders, AcceptedDomainSenders::RelayClients);
  EXPECT_EQ(exo->relay, RelayPermission::None);
  EXPECT_EQ(exo->accepted_domain_senders, AcceptedDomainSenders::Anyone);
  EXPECT_EQ(c.receive_connectors[2].relay, RelayPermission::Ranges);
  EXPECT_EQ(c.receive_connectors[2].relay_from.size(), 3u);
  EXPECT_TRUE(c.notes.empty());

  // Accepted domains: local_domains, then the internal-relay ones, which the internal server's
  // connector serves.
  EXPECT_EQ(c.accepted_domains, (std::vector<AcceptedDomain>{{"example.org", DomainType::Authoritative},
                                                             {"example.net", DomainType::Authoritative},
                                                             {"corp.example.org", DomainType::InternalRelay},
                                                             {"*.lab.example.org", DomainType::InternalRelay}}));
  const SendConnector* internal = select_send_connector(c, "x.lab.example.org");
  ASSERT_NE(internal, nullptr);
  EXPECT_EQ(internal->name, "To the internal server");
  EXPECT_EQ(select_send_connector(c, "corp.example.org"), internal);

  // The sending side: each documented routing decision.
  ASSERT_EQ(c.send_connectors.size(), 4u);
  EXPECT_EQ(c.queue.delay_warning, Seconds(4 * 3600));
  EXPECT_TRUE(c.dns_servers.empty());
  EXPECT_EQ(message_tracking_dir(c), "/var/lib/sluice/logs/MessageTracking");
  const SendConnector* internet = select_send_connector(c, "example.com");
  ASSERT_NE(internet, nullptr);
  EXPECT_EQ(internet->name, "Internet");
  EXPECT_TRUE(internet->smart_hosts.empty());
  EXPECT_EQ(internet->tls, OutboundTls::Dane);
  EXPECT_EQ(internet->tls_destinations.size(), 2u);
  EXPECT_FALSE(internet->tls_policy.allows_legacy_versions());
  const SendConnector* o365 = select_send_connector(c, "sales.contoso.com");
  ASSERT_NE(o365, nullptr);
  EXPECT_EQ(o365->tls, OutboundTls::Required);
  ASSERT_EQ(o365->smart_hosts.size(), 1u);
  EXPECT_TRUE(o365->smart_hosts[0].literal);
  EXPECT_EQ(select_send_connector(c, "contoso.com"), o365);
  EXPECT_EQ(select_send_connector(c, "mx.partner.example")->tls, OutboundTls::Verify);
}

}  // namespace
}  // namespace sluice::config

namespace sluice::config {
namespace {

TEST(ParseConfig, MessageTrackingDirectoryEnabledAndSize) {
  Config defaults = parse_config("state_dir = \"/var/lib/s\"\n", "sluice.toml");
  EXPECT_TRUE(defaults.message_tracking.enabled);
  EXPECT_EQ(defaults.message_tracking.limits.max_file_size, 10u << 20);
  EXPECT_EQ(message_tracking_dir(defaults), "/var/lib/s/logs/MessageTracking");

  Config relative = parse_config(
      "state_dir = \"/var/lib/s\"\n[message_tracking]\ndir = \"trk\"\nenabled = false\nmax_file_size = 4096\n",
      "sluice.toml");
  EXPECT_EQ(message_tracking_dir(relative), "/var/lib/s/trk");
  EXPECT_FALSE(relative.message_tracking.enabled);
  EXPECT_EQ(relative.message_tracking.limits.max_file_size, 4096u);
  Config absolute = parse_config("[message_tracking]\ndir = \"/srv/trk\"\n", "sluice.toml");
  EXPECT_EQ(message_tracking_dir(absolute), "/srv/trk");
}

TEST(ConfigErrors, MessageTracking) {
  EXPECT_CONFIG_ERROR("[message_tracking]\ndirr = \"x\"\n",
                      "message_tracking: unknown key 'dirr' (did you mean 'dir'?)");
  EXPECT_CONFIG_ERROR("[message_tracking]\nmax_file_size = 0\n", "message_tracking.max_file_size");
  EXPECT_CONFIG_ERROR("[message_tracking]\nenabled = \"yes\"\n", "message_tracking.enabled: expected a boolean");
  EXPECT_CONFIG_ERROR("[message_tracking]\ndir = \"\"\n", "message_tracking.dir");
  EXPECT_CONFIG_ERROR("message_tracking = 1\n", "message_tracking: expected a table");
}

TEST(ParseConfig, UserIsUnsetUnlessGivenAndMustBeAUserName) {
  EXPECT_FALSE(parse_config("", "x.toml").user);
  EXPECT_EQ(parse_config("user = \"_sluice\"\n", "x.toml").user, "_sluice");
  EXPECT_CONFIG_ERROR("user = \"\"\n", "line 1: user: a user name has 1 to 32 characters");
  EXPECT_CONFIG_ERROR("user = \"mail gw\"\n", "user: a user name has only letters, digits");
  EXPECT_CONFIG_ERROR("user = 0\n", "user: expected a string");
}

}  // namespace
}  // namespace sluice::config
