#include "config/recipient_validation.h"

#include <gtest/gtest.h>

#include "config/config.h"
#include "config/config_test_util.h"

namespace sluice::config {
namespace {

TEST(RecipientList, AddressesDomainsCommentsAndBlankLines) {
  auto list = parse_recipient_list(
      "# staff\n"
      "Alice@Example.org\n"
      "  bob@example.org   # the boss\r\n"
      "\n"
      "\t\n"
      "@Sales.example.org\n"
      "odd#name@example.org\n",
      "recipients");
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_TRUE(list->contains("alice@example.org", "example.org"));
  EXPECT_TRUE(list->contains("bob@example.org", "example.org"));
  EXPECT_TRUE(list->contains("odd#name@example.org", "example.org"));  // "#" inside an address is no comment
  EXPECT_FALSE(list->contains("carol@example.org", "example.org"));
  EXPECT_TRUE(list->contains("anyone@sales.example.org", "sales.example.org"));
  EXPECT_EQ(list->addresses.size(), 3u);
  EXPECT_EQ(list->domains, (std::unordered_set<std::string>{"example.org", "sales.example.org"}));
}

TEST(RecipientList, EmptyFileIsAnEmptyList) {
  auto list = parse_recipient_list("# nobody yet\n", "r");
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->addresses.empty());
  EXPECT_TRUE(list->whole_domains.empty());
}

TEST(RecipientList, BadLinesAreNamedWithFileAndLine) {
  auto no_at = parse_recipient_list("a@example.org\nbob\n", "/etc/sluice/recipients");
  ASSERT_FALSE(no_at);
  EXPECT_EQ(no_at.error().message.rfind("/etc/sluice/recipients: line 2: \"bob\": not an address", 0), 0u)
      << no_at.error().message;
  auto two = parse_recipient_list("\n\na@example.org b@example.org\n", "r");
  ASSERT_FALSE(two);
  EXPECT_NE(two.error().message.find("r: line 3: \"a@example.org b@example.org\": more than one word"),
            std::string::npos)
      << two.error().message;
  auto domain = parse_recipient_list("@exa mple.org\n", "r");
  ASSERT_FALSE(domain);
  auto bad_domain = parse_recipient_list("@-bad-.org\n", "r");
  ASSERT_FALSE(bad_domain);
  EXPECT_NE(bad_domain.error().message.find("line 1"), std::string::npos);
  auto literal = parse_recipient_list("x@[192.0.2.1]\n", "r");
  ASSERT_FALSE(literal);
  EXPECT_NE(literal.error().message.find("address literal"), std::string::npos);
  auto empty_local = parse_recipient_list("x@example.org\n@\n", "r");
  ASSERT_FALSE(empty_local);
  EXPECT_NE(empty_local.error().message.find("line 2"), std::string::npos);
}

constexpr std::string_view kDomains = "local_domains = [\"example.org\", \"other.org\"]\n";

TEST(RecipientValidationConfig, AbsentMeansNoValidation) {
  Config c = parse_config(kDomains, "t.toml");
  EXPECT_EQ(c.recipient_validation.verify, RecipientCheck::None);
  EXPECT_EQ(recipient_check_for(c, "example.org"), RecipientCheck::None);
  EXPECT_EQ(c.recipient_validation.callout_positive_lifetime, std::chrono::hours(7 * 24));
  EXPECT_EQ(c.recipient_validation.callout_negative_lifetime, std::chrono::hours(3));
}

TEST(RecipientValidationConfig, AFileMeansUsingItForEveryAcceptedDomain) {
  Config c = parse_config(std::string(kDomains) + "[recipient_validation]\nrecipients_file = \"/etc/r\"\n", "t.toml");
  EXPECT_EQ(c.recipient_validation.recipients_file, "/etc/r");
  EXPECT_EQ(recipient_check_for(c, "example.org"), RecipientCheck::File);
  EXPECT_EQ(recipient_check_for(c, "other.org"), RecipientCheck::File);
  // Not accepted (relayed for relay_from clients): never validated here.
  EXPECT_EQ(recipient_check_for(c, "elsewhere.net"), RecipientCheck::None);
}

TEST(RecipientValidationConfig, PerDomainChoiceOverridesTheDefault) {
  Config c = parse_config(std::string(kDomains) +
                              "[recipient_validation]\nrecipients_file = \"/etc/r\"\n"
                              "callout_timeout = \"10s\"\ncallout_negative_lifetime = \"30m\"\n"
                              "callout_positive_lifetime = 0\ncallout_cache_size = 500\n"
                              "[recipient_validation.domains]\n\"Other.org\" = \"none\"\n",
                          "t.toml");
  EXPECT_EQ(recipient_check_for(c, "example.org"), RecipientCheck::File);
  EXPECT_EQ(recipient_check_for(c, "other.org"), RecipientCheck::None);
  EXPECT_EQ(c.recipient_validation.callout_timeout, std::chrono::seconds(10));
  EXPECT_EQ(c.recipient_validation.callout_negative_lifetime, std::chrono::minutes(30));
  EXPECT_EQ(c.recipient_validation.callout_positive_lifetime, std::chrono::seconds(0));
  EXPECT_EQ(c.recipient_validation.callout_cache_size, 500u);
}

TEST(RecipientValidationConfig, CalloutDefaultLeavesAuthoritativeDomainsToTheFile) {
  Config without_file = parse_config(std::string(kDomains) + "[recipient_validation]\nverify = \"callout\"\n", "t");
  EXPECT_EQ(recipient_check_for(without_file, "example.org"), RecipientCheck::None);
  Config with_file = parse_config(
      std::string(kDomains) + "[recipient_validation]\nverify = \"callout\"\nrecipients_file = \"/r\"\n", "t");
  EXPECT_EQ(recipient_check_for(with_file, "example.org"), RecipientCheck::File);
}

TEST(RecipientValidationConfig, ErrorsSayWhatIsWrong) {
  const std::string base = std::string(kDomains) + "[recipient_validation]\n";
  EXPECT_CONFIG_ERROR(base + "verify = \"files\"\n",
                      "recipient_validation.verify: \"files\" is not one of none, file, callout");
  EXPECT_CONFIG_ERROR(base + "verify = \"file\"\n", "recipient_validation.verify: \"file\" needs recipients_file");
  EXPECT_CONFIG_ERROR(base + "recipient_file = \"/r\"\n", "recipient_validation");
  EXPECT_CONFIG_ERROR(base + "callout_timeout = 0\n", "recipient_validation.callout_timeout: must be greater than 0");
  EXPECT_CONFIG_ERROR(base + "recipients_file = \"/r\"\n[recipient_validation.domains]\n\"nowhere.net\" = \"file\"\n",
                      "\"nowhere.net\" is not an accepted domain");
  EXPECT_CONFIG_ERROR(base + "[recipient_validation.domains]\n\"example.org\" = \"file\"\n",
                      "\"file\" needs recipients_file");
  EXPECT_CONFIG_ERROR(base + "[recipient_validation.domains]\n\"example.org\" = \"callout\"\n",
                      "\"callout\" asks the next hop of an internal-relay domain; \"example.org\" is authoritative");
  EXPECT_CONFIG_ERROR(base + "[recipient_validation.domains]\n\"ex ample.org\" = \"none\"\n", "\"ex ample.org\"");
}

constexpr std::string_view kHybrid = R"(local_domains = ["example.org"]
[[accepted_domain]]
domain = "corp.example.org"
type = "internal-relay"
[[accepted_domain]]
domain = "*.branch.example.org"
type = "internal-relay"
[[send_connector]]
name = "To Exchange"
address_spaces = ["corp.example.org", "*.branch.example.org"]
smart_hosts = ["[10.0.0.5]:25"]
[[send_connector]]
name = "Internet"
)";

TEST(RecipientValidationConfig, CalloutIsForInternalRelayDomains) {
  Config c = parse_config(
      std::string(kHybrid) + "[recipient_validation]\nverify = \"callout\"\nrecipients_file = \"/r\"\n", "t.toml");
  EXPECT_EQ(recipient_check_for(c, "corp.example.org"), RecipientCheck::Callout);
  EXPECT_EQ(recipient_check_for(c, "eu.branch.example.org"), RecipientCheck::Callout);
  EXPECT_EQ(recipient_check_for(c, "example.org"), RecipientCheck::File);
  EXPECT_EQ(recipient_check_for(c, "sub.corp.example.org"), RecipientCheck::None);  // not accepted
}

TEST(RecipientValidationConfig, DomainPatternsOverrideTheMostSpecificFirst) {
  Config c = parse_config(std::string(kHybrid) +
                              "[recipient_validation]\nrecipients_file = \"/r\"\n"
                              "[recipient_validation.domains]\n\"*.branch.example.org\" = \"callout\"\n"
                              "\"lab.branch.example.org\" = \"none\"\n\"corp.example.org\" = \"callout\"\n",
                          "t.toml");
  EXPECT_EQ(recipient_check_for(c, "eu.branch.example.org"), RecipientCheck::Callout);
  EXPECT_EQ(recipient_check_for(c, "lab.branch.example.org"), RecipientCheck::None);
  EXPECT_EQ(recipient_check_for(c, "corp.example.org"), RecipientCheck::Callout);
  EXPECT_EQ(recipient_check_for(c, "example.org"), RecipientCheck::File);
}

}  // namespace
}  // namespace sluice::config
