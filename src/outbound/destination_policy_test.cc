#include "outbound/destination_policy.h"

#include <gtest/gtest.h>

#include "net/dns_test_util.h"

namespace sluice::outbound {
namespace {

using config::OutboundTls;
using net::TableLookups;

/// Answers one domain's MTA-STS lookup from a fixed outcome, counting the calls.
class FixedPolicies : public mta_sts::PolicySource {
 public:
  mta_sts::Lookup lookup(const std::string& domain) override {
    ++calls;
    last_domain = domain;
    return outcome;
  }
  mta_sts::Lookup outcome;
  int calls = 0;
  std::string last_domain;
};

mta_sts::Lookup found(mta_sts::Mode mode, std::vector<std::string> mx) {
  mta_sts::Lookup l;
  l.status = mta_sts::Lookup::Status::Found;
  l.policy = mta_sts::Policy{mode, std::move(mx), std::chrono::seconds(86400), "20261208", ""};
  return l;
}

class DestinationPolicy : public ::testing::Test {
 protected:
  void SetUp() override {
    net::DnsAnswer mx;
    mx.status = net::DnsAnswer::Status::Ok;
    mx.hosts = {{"mx1.example.org", 10, false}, {"mx2.other.net", 20, false}};
    dns.mx_answers["example.org"] = mx;
    for (const char* host : {"mx1.example.org", "mx2.other.net", "relay.example.net"}) {
      net::DnsAnswer a;
      a.status = net::DnsAnswer::Status::Ok;
      a.addresses = {asio::ip::make_address("192.0.2.1")};
      dns.address_answers[host] = a;
    }
    connector.name = "Internet";
    lookups.dns = &dns;
    lookups.mta_sts = &policies;
  }
  config::TlsDestination entry(std::string domain, OutboundTls mode) {
    config::TlsDestination d;
    d.domain = std::move(domain);
    d.mode = mode;
    return d;
  }
  TableLookups dns;
  FixedPolicies policies;
  config::SendConnector connector;
  PolicyLookups lookups;
};

TEST_F(DestinationPolicy, TheMostSpecificTableEntryWinsOverTheConnector) {
  connector.tls = OutboundTls::Opportunistic;
  connector.tls_destinations = {entry("*.org", OutboundTls::Required), entry("example.org", OutboundTls::Verify),
                                entry("*.example.org", OutboundTls::None)};
  auto exact = destination_mode(connector, "Example.ORG");
  EXPECT_EQ(exact.mode, OutboundTls::Verify);
  EXPECT_EQ(exact.decided_by, "policy table entry example.org");
  EXPECT_EQ(destination_mode(connector, "a.b.example.org").mode, OutboundTls::None);
  EXPECT_EQ(destination_mode(connector, "b.example.org").decided_by, "policy table entry *.example.org");
  EXPECT_EQ(destination_mode(connector, "other.org").mode, OutboundTls::Required);
  auto fallback = destination_mode(connector, "example.net");
  EXPECT_EQ(fallback.mode, OutboundTls::Opportunistic);
  EXPECT_EQ(fallback.entry, nullptr);
  EXPECT_EQ(fallback.decided_by, "connector Internet");
}

TEST_F(DestinationPolicy, AVerifyEntryCarriesItsNamesAndMinimumVersion) {
  auto e = entry("example.org", OutboundTls::Verify);
  e.match = {"mx1.example.org", "*.example.org"};
  e.min_version = tls::Version::Tls1_3;
  connector.tls_destinations = {e};
  auto targets = resolve_with_policy(connector, "example.org", lookups);
  ASSERT_TRUE(targets) << targets.error().one_line();
  const auto& r = targets->front().tls;
  EXPECT_EQ(r.level, TlsLevel::Verify);
  EXPECT_EQ(r.source, PolicySource::Table);
  EXPECT_EQ(r.match_names, e.match);
  EXPECT_EQ(r.min_version, tls::Version::Tls1_3);
  EXPECT_FALSE(r.fallback_to_plaintext);
  EXPECT_EQ(policies.calls, 0) << "a plain mode never asks for MTA-STS";
}

TEST_F(DestinationPolicy, MtaStsEnforceVerifiesListedHostsAndLeavesOthersOut) {
  connector.tls = OutboundTls::MtaSts;
  policies.outcome = found(mta_sts::Mode::Enforce, {"*.example.org"});
  auto targets = resolve_with_policy(connector, "example.org", lookups);
  ASSERT_TRUE(targets) << targets.error().one_line();
  ASSERT_EQ(targets->size(), 1u) << "mx2.other.net is not in the policy";
  const auto& r = targets->front().tls;
  EXPECT_EQ(targets->front().host, "mx1.example.org");
  EXPECT_EQ(r.level, TlsLevel::Verify);
  EXPECT_EQ(r.source, PolicySource::MtaSts);
  EXPECT_EQ(r.match_names, std::vector<std::string>{"mx1.example.org"});
  EXPECT_EQ(r.min_version, tls::Version::Tls1_2);
  EXPECT_TRUE(r.authenticated());
  EXPECT_EQ(policies.calls, 1) << "one lookup per delivery, not per host";
  EXPECT_EQ(policies.last_domain, "example.org");
}

TEST_F(DestinationPolicy, MtaStsEnforceWithNoListedHostDefersSayingWhich) {
  connector.tls = OutboundTls::MtaSts;
  policies.outcome = found(mta_sts::Mode::Enforce, {"mail.example.org"});
  auto targets = resolve_with_policy(connector, "example.org", lookups);
  ASSERT_FALSE(targets);
  EXPECT_TRUE(targets.error().transient());
  EXPECT_NE(targets.error().one_line().find("MX host mx1.example.org is not in the MTA-STS policy of example.org"),
            std::string::npos)
      << targets.error().one_line();
  EXPECT_NE(targets.error().one_line().find("mx: mail.example.org"), std::string::npos);
}

TEST_F(DestinationPolicy, MtaStsTestingKeepsEveryHostAndOnlyReports) {
  connector.tls = OutboundTls::MtaSts;
  policies.outcome = found(mta_sts::Mode::Testing, {"mx1.example.org"});
  auto targets = resolve_with_policy(connector, "example.org", lookups);
  ASSERT_TRUE(targets);
  ASSERT_EQ(targets->size(), 2u);
  EXPECT_TRUE((*targets)[1].tls.testing);
  EXPECT_FALSE((*targets)[1].tls.authenticated());
  EXPECT_NE((*targets)[1].tls.decided_by.find("mx2.other.net is not listed"), std::string::npos);
}

TEST_F(DestinationPolicy, NoMtaStsPolicyOrAFailedFetchIsOpportunistic) {
  connector.tls = OutboundTls::MtaSts;
  policies.outcome.status = mta_sts::Lookup::Status::NoPolicy;
  auto none = resolve_with_policy(connector, "example.org", lookups);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->front().tls.level, TlsLevel::May);
  policies.outcome.status = mta_sts::Lookup::Status::Failed;
  policies.outcome.error = "HTTP 404";
  auto failed = resolve_with_policy(connector, "example.org", lookups);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->front().tls.level, TlsLevel::May);
  EXPECT_NE(failed->front().tls.decided_by.find("HTTP 404"), std::string::npos);
}

TEST_F(DestinationPolicy, TheStoresReasonIsInTheDecision) {
  connector.tls = OutboundTls::MtaSts;
  policies.outcome = found(mta_sts::Mode::Enforce, {"*.example.org"});
  policies.outcome.from_cache = true;
  policies.outcome.error = "https://mta-sts.example.org/.well-known/mta-sts.txt: timed out";
  auto kept = resolve_with_policy(connector, "example.org", lookups);
  ASSERT_TRUE(kept);
  EXPECT_NE(kept->front().tls.decided_by.find("(id 20261208, mode enforce, cached, mx: *.example.org); kept from the "
                                              "cache: https://mta-sts.example.org/.well-known/mta-sts.txt: timed out"),
            std::string::npos)
      << kept->front().tls.decided_by;

  policies.outcome = mta_sts::Lookup{};
  policies.outcome.error = "_mta-sts.example.org: more than one \"v=STSv1\" TXT record";
  auto none = resolve_with_policy(connector, "example.org", lookups);
  ASSERT_TRUE(none);
  EXPECT_NE(none->front().tls.decided_by.find("no MTA-STS policy for example.org (_mta-sts.example.org: more than one "
                                              "\"v=STSv1\" TXT record): opportunistic"),
            std::string::npos)
      << none->front().tls.decided_by;
}

TEST_F(DestinationPolicy, DaneFirstThenMtaStsWhereDaneDoesNotApply) {
  connector.tls = OutboundTls::Dane;
  policies.outcome = found(mta_sts::Mode::Enforce, {"mx1.example.org", "mx2.other.net"});
  lookups.dane = [](const std::string& host, bool, std::uint16_t, const std::string&,
                    const net::MailLookups&) -> Result<std::optional<TlsRequirement>, smtp::Reply> {
    if (host != "mx1.example.org") return std::optional<TlsRequirement>();
    TlsRequirement r;
    r.level = TlsLevel::Dane;
    r.source = PolicySource::Dane;
    r.decided_by = "TLSA 3 1 1";
    return std::optional<TlsRequirement>(r);
  };
  auto targets = resolve_with_policy(connector, "example.org", lookups);
  ASSERT_TRUE(targets);
  ASSERT_EQ(targets->size(), 2u);
  EXPECT_EQ((*targets)[0].tls.source, PolicySource::Dane);
  EXPECT_EQ((*targets)[0].tls.policy_domain, "example.org");
  EXPECT_EQ((*targets)[1].tls.source, PolicySource::MtaSts);
}

TEST_F(DestinationPolicy, DaneOnlyWithoutDaneDefersAndNeverGoesPlain) {
  connector.tls = OutboundTls::DaneOnly;
  auto targets = resolve_with_policy(connector, "example.org", lookups);
  ASSERT_FALSE(targets);
  EXPECT_EQ(targets.error().code, 451);
  EXPECT_EQ(targets.error().enhanced, "4.7.323");
}

TEST_F(DestinationPolicy, AFailedSecureTlsaLookupLeavesTheHostOut) {
  connector.tls = OutboundTls::Dane;
  policies.outcome.status = mta_sts::Lookup::Status::NoPolicy;
  lookups.dane = [](const std::string& host, bool, std::uint16_t, const std::string&,
                    const net::MailLookups&) -> Result<std::optional<TlsRequirement>, smtp::Reply> {
    if (host == "mx1.example.org") return fail(smtp::make_reply(451, "4.7.324", "TLSA lookup failed: SERVFAIL"));
    return std::optional<TlsRequirement>();
  };
  auto targets = resolve_with_policy(connector, "example.org", lookups);
  ASSERT_TRUE(targets);
  ASSERT_EQ(targets->size(), 1u);
  EXPECT_EQ(targets->front().host, "mx2.other.net");
}

TEST_F(DestinationPolicy, TlsRequiredNoSetsRecipientPoliciesAsideButNotTheTable) {
  connector.tls = OutboundTls::DaneOnly;
  connector.tls_destinations = {entry("example.net", OutboundTls::Verify)};
  auto ignored = resolve_with_policy(connector, "example.org", lookups, /*ignore_recipient_policies=*/true);
  ASSERT_TRUE(ignored);
  EXPECT_EQ(ignored->front().tls.level, TlsLevel::May);
  EXPECT_NE(ignored->front().tls.decided_by.find("TLS-Required: No"), std::string::npos);
  connector.smart_hosts = {config::SmartHost{"relay.example.net", 25}};
  connector.tls_destinations = {entry("relay.example.net", OutboundTls::Verify)};
  auto table = resolve_with_policy(connector, "example.org", lookups, true);
  ASSERT_TRUE(table);
  EXPECT_EQ(table->front().tls.level, TlsLevel::Verify) << "a smart host's entry is the host's own name";
}

TEST_F(DestinationPolicy, DescribeNamesLevelSourceAndDecision) {
  connector.tls = OutboundTls::MtaSts;
  policies.outcome = found(mta_sts::Mode::Enforce, {"mx1.example.org"});
  auto targets = resolve_with_policy(connector, "example.org", lookups);
  ASSERT_TRUE(targets);
  EXPECT_EQ(describe(targets->front().tls),
            "verify (mta-sts, TLS 1.2 or later, names mx1.example.org): connector Internet: mta-sts; MTA-STS policy "
            "of example.org (id 20261208, mode enforce, mx: mx1.example.org)");
}

}  // namespace
}  // namespace sluice::outbound

namespace sluice::outbound {
namespace {

TEST_F(DestinationPolicy, FailuresBeforeAnySessionAreHeardForTlsRpt) {
  std::vector<PolicyFailure> heard;
  lookups.on_failure = [&](const PolicyFailure& f) { heard.push_back(f); };
  connector.tls = OutboundTls::DaneOnly;
  lookups.dane = [](const std::string& host, bool, std::uint16_t, const std::string&,
                    const net::MailLookups&) -> Result<std::optional<TlsRequirement>, smtp::Reply> {
    if (host == "mx1.example.org") return fail(smtp::make_reply(451, "4.7.5", "TLSA lookup failed: SERVFAIL"));
    return std::optional<TlsRequirement>();
  };
  EXPECT_FALSE(resolve_with_policy(connector, "example.org", lookups));
  ASSERT_EQ(heard.size(), 2u);
  EXPECT_EQ(heard[0].result_type, "dnssec-invalid");
  EXPECT_EQ(heard[0].host, "mx1.example.org");
  EXPECT_EQ(heard[0].policy.source, PolicySource::Dane);
  EXPECT_EQ(heard[1].result_type, "dane-required");
  EXPECT_EQ(heard[1].host, "mx2.other.net");

  heard.clear();
  connector.tls = OutboundTls::MtaSts;
  policies.outcome.status = mta_sts::Lookup::Status::Failed;
  policies.outcome.failure_type = "sts-webpki-invalid";
  policies.outcome.error = "certificate verify failed";
  EXPECT_TRUE(resolve_with_policy(connector, "example.org", lookups)) << "delivered as without a policy";
  ASSERT_EQ(heard.size(), 1u) << "one report per delivery, not per host";
  EXPECT_EQ(heard[0].result_type, "sts-webpki-invalid");
  EXPECT_EQ(heard[0].policy.source, PolicySource::MtaSts);
  EXPECT_EQ(heard[0].policy.policy_domain, "example.org");
}

}  // namespace
}  // namespace sluice::outbound
