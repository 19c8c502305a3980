#include "config/accepted_domains.h"

#include <gtest/gtest.h>

#include "config/config.h"
#include "config/config_test_util.h"

namespace sluice::config {
namespace {

constexpr DomainType kAuthoritative = DomainType::Authoritative;
constexpr DomainType kInternalRelay = DomainType::InternalRelay;

/// A send connector to the internal server that names `spaces` (TOML array text).
std::string internal_connector(std::string_view spaces) {
  return "[[send_connector]]\nname = \"To the internal server\"\naddress_spaces = " + std::string(spaces) +
         "\nsmart_hosts = [\"[10.0.0.25]:25\"]\n[[send_connector]]\nname = \"Internet\"\n";
}

/// The pattern of the accepted domain that covers `domain`, or "-" when none does.
std::string covering(const Config& config, std::string_view domain) {
  const AcceptedDomain* found = find_accepted_domain(config, domain);
  return found ? found->pattern : "-";
}

TEST(AcceptedDomains, LocalDomainsAreAuthoritativeThenTheTablesInFileOrder) {
  const Config c = parse_config(R"toml(
local_domains = ["Example.ORG", "example.org", "mail.example.net"]
[[accepted_domain]]
domain = "Corp.Example.ORG"
type = "internal-relay"
[[accepted_domain]]
domain = "*.branch.example.org"
[[accepted_domain]]
domain = "*.corp.example.org"
type = "authoritative"
)toml" + internal_connector("[\"corp.example.org\"]"),
                                "x.toml");
  EXPECT_EQ(c.accepted_domains, (std::vector<AcceptedDomain>{{"example.org", kAuthoritative},
                                                             {"mail.example.net", kAuthoritative},
                                                             {"corp.example.org", kInternalRelay},
                                                             {"*.branch.example.org", kAuthoritative},
                                                             {"*.corp.example.org", kAuthoritative}}));
  EXPECT_EQ(primary_domain(c), "example.org");
}

TEST(AcceptedDomains, EitherKeyReplacesTheDefaultLocalhost) {
  EXPECT_EQ(parse_config("", "x.toml").accepted_domains, (std::vector<AcceptedDomain>{{"localhost", kAuthoritative}}));
  const Config only_tables = parse_config("[[accepted_domain]]\ndomain = \"example.org\"\n", "x.toml");
  EXPECT_EQ(only_tables.accepted_domains, (std::vector<AcceptedDomain>{{"example.org", kAuthoritative}}));
  EXPECT_FALSE(is_local_domain(only_tables, "localhost"));
}

TEST(AcceptedDomains, MostSpecificMatchWins) {
  Config c;
  c.accepted_domains = {{"*.example.org", kAuthoritative},
                        {"corp.example.org", kInternalRelay},
                        {"*.lab.corp.example.org", kAuthoritative},
                        {"*.corp.example.org", kInternalRelay}};
  EXPECT_EQ(covering(c, "example.org"), "*.example.org");  // "*.d" covers d itself
  EXPECT_EQ(covering(c, "www.example.org"), "*.example.org");
  EXPECT_EQ(covering(c, "corp.example.org"), "corp.example.org");
  EXPECT_EQ(covering(c, "eu.corp.example.org"), "*.corp.example.org");
  EXPECT_EQ(covering(c, "lab.corp.example.org"), "*.lab.corp.example.org");
  EXPECT_EQ(covering(c, "x.lab.corp.example.org"), "*.lab.corp.example.org");
  // Label boundaries, suffix tricks and address literals.
  EXPECT_EQ(covering(c, "notexample.org"), "-");
  EXPECT_EQ(covering(c, "example.org.remote.example"), "-");
  EXPECT_EQ(covering(c, "org"), "-");
  EXPECT_EQ(covering(c, "[192.0.2.1]"), "-");
  EXPECT_EQ(covering(c, ""), "-");

  EXPECT_TRUE(is_local_domain(c, "www.example.org"));
  EXPECT_FALSE(is_local_domain(c, "corp.example.org"));
  EXPECT_FALSE(is_local_domain(c, "eu.corp.example.org"));
  EXPECT_TRUE(is_local_domain(c, "lab.corp.example.org"));
  EXPECT_FALSE(is_local_domain(c, "elsewhere.example"));
  EXPECT_EQ(primary_domain(c), "example.org");
}

TEST(AcceptedDomains, PrimaryDomainSkipsInternalRelayAndIsEmptyWithoutAuthoritative) {
  Config c;
  c.accepted_domains = {{"corp.example", kInternalRelay}, {"mail.example", kAuthoritative}};
  EXPECT_EQ(primary_domain(c), "mail.example");
  c.accepted_domains = {{"corp.example", kInternalRelay}};
  EXPECT_EQ(primary_domain(c), "");
}

TEST(AcceptedDomains, PatternRanks) {
  EXPECT_EQ(domain_pattern_rank("*", "anything.example"), 0);
  EXPECT_EQ(domain_pattern_rank("example.org", "example.org"), INT_MAX);
  EXPECT_EQ(domain_pattern_rank("example.org", "a.example.org"), -1);
  EXPECT_GT(domain_pattern_rank("*.a.example.org", "b.a.example.org"),
            domain_pattern_rank("*.example.org", "b.a.example.org"));
  EXPECT_GT(domain_pattern_rank("*.example.org", "b.a.example.org"), 0);
  EXPECT_EQ(domain_pattern_rank("*.example.org", "badexample.org"), -1);
}

TEST(AcceptedDomainErrors, ShapeAndValues) {
  EXPECT_CONFIG_ERROR("[[accepted_domain]]\ntype = \"authoritative\"\n",
                      "sluice.toml: line 1: accepted_domain[0]: missing key 'domain' (e.g. domain = \"example.org\")");
  EXPECT_CONFIG_ERROR("[[accepted_domain]]\ndomain = \"example.org\"\ntyp = \"authoritative\"\n",
                      "accepted_domain[0]: unknown key 'typ' (did you mean 'type'?)");
  EXPECT_CONFIG_ERROR("accepted_domain = [\"example.org\"]\n",
                      "accepted_domain: expected an array of tables ([[accepted_domain]]), got an array");
  EXPECT_CONFIG_ERROR("accepted_domain = []\n", "got an array that is empty");
  EXPECT_CONFIG_ERROR("[[accepted_domain]]\ndomain = \"example.org\"\ntype = \"relay\"\n",
                      "sluice.toml: line 3: accepted_domain[0].type: \"relay\" is not one of authoritative, "
                      "internal-relay");
  EXPECT_CONFIG_ERROR("[[accepted_domain]]\ndomain = \"*\"\n",
                      "accepted_domain[0].domain: \"*\" would accept mail for every domain from everyone (an open "
                      "relay)");
  EXPECT_CONFIG_ERROR("[[accepted_domain]]\ndomain = \"*example.org\"\n",
                      "accepted_domain[0].domain: \"*example.org\" is not a domain pattern; write \"example.org\", "
                      "or \"*.example.org\" for it and its subdomains");
  EXPECT_CONFIG_ERROR("[[accepted_domain]]\ndomain = \"a.*.example.org\"\n", "is not a domain pattern");
  EXPECT_CONFIG_ERROR("[[accepted_domain]]\ndomain = \"example.org.\"\n",
                      "accepted_domain[0].domain: \"example.org.\" ends with a dot");
  EXPECT_CONFIG_ERROR("[[accepted_domain]]\ndomain = \"\"\n", "accepted_domain[0].domain: is empty");
  EXPECT_CONFIG_ERROR("[[accepted_domain]]\ndomain = 5\n", "accepted_domain[0].domain: expected a string");
}

TEST(AcceptedDomainErrors, EachDomainOnce) {
  EXPECT_CONFIG_ERROR("local_domains = [\"example.org\"]\n[[accepted_domain]]\ndomain = \"Example.org\"\n",
                      "sluice.toml: line 3: accepted_domain[0].domain: \"example.org\" is already an accepted "
                      "domain (local_domains[0]); list each domain once");
  EXPECT_CONFIG_ERROR(
      "[[accepted_domain]]\ndomain = \"*.example.org\"\n[[accepted_domain]]\ndomain = \"*.example.org\"\n"
      "type = \"internal-relay\"\n",
      "accepted_domain[1].domain: \"*.example.org\" is already an accepted domain (accepted_domain[0].domain)");
}

TEST(AcceptedDomainErrors, InternalRelayNeedsASendConnectorOfItsOwn) {
  const std::string domain = "[[accepted_domain]]\ndomain = \"corp.example\"\ntype = \"internal-relay\"\n";
  // The default send connector is "*" by MX lookup: the domain's MX is usually this gateway.
  EXPECT_CONFIG_ERROR(domain,
                      "sluice.toml: line 2: accepted_domain[0].domain: internal-relay domain \"corp.example\" has no "
                      "send connector of its own (only the catch-all \"*\" of send connector \"Default Outbound\" "
                      "covers it, which would send it by MX lookup or to that connector's smart hosts, usually back "
                      "to this gateway or out to the Internet); add it to the address_spaces of the send connector "
                      "whose smart_hosts are the internal mail server, e.g. address_spaces = [\"corp.example\"]");
  EXPECT_CONFIG_ERROR(domain + "[[send_connector]]\nname = \"Partner\"\naddress_spaces = [\"partner.example\"]\n",
                      "(no send connector serves it, so its mail could go nowhere)");
  // Named exactly, or by a parent wildcard: fine.
  EXPECT_NO_THROW(parse_config(domain + internal_connector("[\"corp.example\"]"), "x.toml"));
  EXPECT_NO_THROW(parse_config(domain + internal_connector("[\"*.example\"]"), "x.toml"));

  // "*.corp.example" needs a wildcard space: "corp.example" alone leaves the subdomains to "*".
  const std::string wildcard = "[[accepted_domain]]\ndomain = \"*.corp.example\"\ntype = \"internal-relay\"\n";
  EXPECT_CONFIG_ERROR(wildcard + internal_connector("[\"corp.example\"]"),
                      "internal-relay domain \"*.corp.example\" has no send connector of its own");
  EXPECT_NO_THROW(parse_config(wildcard + internal_connector("[\"*.corp.example\"]"), "x.toml"));
  // An authoritative domain never goes through a send connector.
  EXPECT_NO_THROW(parse_config("[[accepted_domain]]\ndomain = \"corp.example\"\n", "x.toml"));
}

TEST(AcceptedDomainErrors, SendConnectorAddressSpacesKeepTheirWording) {
  EXPECT_CONFIG_ERROR("[[send_connector]]\nname = \"Out\"\naddress_spaces = [\"*example.org\"]\n",
                      "send_connector[0].address_spaces[0]: \"*example.org\" is not an address space; write \"*\", "
                      "\"example.org\" or \"*.example.org\"");
}

}  // namespace
}  // namespace sluice::config
