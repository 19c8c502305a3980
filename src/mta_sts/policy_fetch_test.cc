#include "mta_sts/policy_fetch.h"

#include <gtest/gtest.h>

#include "net/dns_test_util.h"

namespace sluice::mta_sts {
namespace {

const std::string kUrl = "https://mta-sts.example.org/.well-known/mta-sts.txt";

TEST(MtaStsPolicyFetch, Url) {
  EXPECT_EQ(policy_url("example.org"), kUrl);
  EXPECT_EQ(policy_url("example.org", 8443), "https://mta-sts.example.org:8443/.well-known/mta-sts.txt");
}

TEST(MtaStsPolicyFetch, OnlyA200TextPlainIsAPolicy) {
  auto ok = policy_text_of({200, "text/plain", "version: STSv1\n"}, kUrl);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "version: STSv1\n");
  EXPECT_TRUE(policy_text_of({200, "Text/Plain ; charset=utf-8", "x"}, kUrl).ok());

  auto redirect = policy_text_of({301, "text/html", ""}, kUrl);
  ASSERT_FALSE(redirect.ok());
  EXPECT_EQ(redirect.error().failure_type, "sts-policy-fetch-error");
  EXPECT_EQ(redirect.error().message, kUrl + ": answered HTTP 301 (a redirect, which RFC 8461 3.3 forbids)");

  auto missing = policy_text_of({404, "text/plain", "not found"}, kUrl);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, kUrl + ": answered HTTP 404");

  auto html = policy_text_of({200, "text/html", "<html>"}, kUrl);
  ASSERT_FALSE(html.ok());
  EXPECT_EQ(html.error().failure_type, "sts-policy-invalid");
  EXPECT_EQ(html.error().message, kUrl + ": Content-Type is \"text/html\", not text/plain");
  EXPECT_FALSE(policy_text_of({200, "", "x"}, kUrl).ok());
  EXPECT_FALSE(policy_text_of({200, "text/plainer", "x"}, kUrl).ok());
}

TEST(MtaStsPolicyFetch, NoAddressForThePolicyHostIsAFetchError) {
  net::TableLookups dns;  // answers nothing: SERVFAIL
  auto result = https_policy_fetcher(dns, FetchSettings{})("example.org");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().failure_type, "sts-policy-fetch-error");
  EXPECT_EQ(result.error().message, kUrl + ": no address for mta-sts.example.org: SERVFAIL for mta-sts.example.org");
}

TEST(MtaStsPolicyFetch, ConnectsToTheAddressOurResolverGave) {
  net::TableLookups dns;
  net::DnsAnswer answer;
  answer.status = net::DnsAnswer::Status::Ok;
  answer.addresses = {asio::ip::make_address("127.0.0.1")};
  dns.address_answers["mta-sts.example.org"] = answer;
  FetchSettings settings;
  settings.port = 1;  // nothing listens there
  auto result = https_policy_fetcher(dns, settings)("example.org");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().failure_type, "sts-policy-fetch-error");
  EXPECT_NE(result.error().message.find("could not connect"), std::string::npos) << result.error().message;
  // Refused, not "could not resolve": the system's resolver knows no mta-sts.example.org here,
  // so curl connected to the address from `dns`.
  EXPECT_EQ(result.error().message.find("could not resolve"), std::string::npos) << result.error().message;
}

}  // namespace
}  // namespace sluice::mta_sts
