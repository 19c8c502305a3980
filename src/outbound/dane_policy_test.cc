// DANE's decision per MX host (RFC 7672 2.2) from table DNS answers.
#include "outbound/dane_policy.h"

#include <gtest/gtest.h>

#include "net/dns_test_util.h"

namespace sluice::outbound {
namespace {

using Status = net::DnsAnswer::Status;
using Data = std::vector<unsigned char>;

net::DnsRecords tlsa_answer(Status status, bool secure, std::vector<tls::TlsaRecord> records = {}) {
  net::DnsRecords r;
  r.status = status;
  r.secure = secure;
  r.tlsa = std::move(records);
  if (status == Status::TempFail) r.error = "SERVFAIL from 127.0.0.1:53 for TLSA _25._tcp.mx.example.org";
  return r;
}

class DanePolicyTest : public ::testing::Test {
 protected:
  net::TableLookups dns;
  const tls::TlsaRecord ee{3, 1, 1, Data(32, 0xab)};
  const std::string owner = "_25._tcp.mx.example.org";
};

TEST_F(DanePolicyTest, TlsaNameUsesPortAndHostWithoutTrailingDot) {
  EXPECT_EQ(tlsa_name("mx.example.org.", 25), "_25._tcp.mx.example.org");
  EXPECT_EQ(tlsa_name("mx.example.org", 2525), "_2525._tcp.mx.example.org");
}

TEST_F(DanePolicyTest, SecureUsableRecordsRequireDaneWithTheMxAndTheDomainAsNames) {
  dns.tlsa_answers[owner] = tlsa_answer(Status::Ok, true, {ee, {1, 1, 1, Data(32, 1)}});
  auto r = dane_requirement("mx.example.org", true, 25, "example.org", dns);
  ASSERT_TRUE(r) << r.error().one_line();
  ASSERT_TRUE(r->has_value());
  const TlsRequirement& req = **r;
  EXPECT_EQ(req.level, TlsLevel::Dane);
  EXPECT_EQ(req.source, PolicySource::Dane);
  EXPECT_EQ(req.policy_domain, "example.org");
  EXPECT_EQ(req.tlsa, std::vector<tls::TlsaRecord>{ee});  // the PKIX-EE record is left out
  EXPECT_EQ(req.match_names, (std::vector<std::string>{"mx.example.org", "example.org"}));
  EXPECT_EQ(req.decided_by, "DANE: DNSSEC-validated TLSA records for _25._tcp.mx.example.org (1 usable of 2)");
  EXPECT_TRUE(req.authenticated());
}

TEST_F(DanePolicyTest, InsecureMxOrInsecureOrMissingTlsaDoNotApply) {
  dns.tlsa_answers[owner] = tlsa_answer(Status::Ok, true, {ee});
  auto insecure_mx = dane_requirement("mx.example.org", false, 25, "example.org", dns);
  ASSERT_TRUE(insecure_mx);
  EXPECT_FALSE(insecure_mx->has_value());

  dns.tlsa_answers[owner] = tlsa_answer(Status::Ok, false, {ee});
  auto insecure_tlsa = dane_requirement("mx.example.org", true, 25, "example.org", dns);
  ASSERT_TRUE(insecure_tlsa);
  EXPECT_FALSE(insecure_tlsa->has_value());

  for (auto status : {Status::NoData, Status::NxDomain}) {
    dns.tlsa_answers[owner] = tlsa_answer(status, true);
    auto none = dane_requirement("mx.example.org", true, 25, "example.org", dns);
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->has_value());
  }
  auto literal = dane_requirement("[192.0.2.1]", true, 25, "example.org", dns);
  ASSERT_TRUE(literal);
  EXPECT_FALSE(literal->has_value());
}

TEST_F(DanePolicyTest, FailedTlsaLookupWithASecureMxDefers) {
  dns.tlsa_answers[owner] = tlsa_answer(Status::TempFail, false);
  auto r = dane_requirement("mx.example.org", true, 25, "example.org", dns);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, 451);
  EXPECT_EQ(r.error().enhanced, "4.7.5");
  std::string text = r.error().one_line();
  EXPECT_NE(text.find("TLSA lookup for _25._tcp.mx.example.org failed (DNSSEC validation failed or DNS error)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("SERVFAIL from 127.0.0.1:53"), std::string::npos) << text;

  // With an insecure MX the same failure is no reason to wait: DANE cannot apply anyway.
  auto insecure = dane_requirement("mx.example.org", false, 25, "example.org", dns);
  ASSERT_TRUE(insecure);
  EXPECT_FALSE(insecure->has_value());
}

TEST_F(DanePolicyTest, SecureButUnusableRecordsMeanEncryptSayingWhy) {
  dns.tlsa_answers[owner] = tlsa_answer(Status::Ok, true, {{0, 0, 1, Data(32, 1)}, {3, 1, 1, Data(20, 1)}});
  auto r = dane_requirement("mx.example.org", true, 25, "example.org", dns);
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->level, TlsLevel::Encrypt);
  EXPECT_EQ((*r)->source, PolicySource::Dane);
  EXPECT_TRUE((*r)->tlsa.empty());
  EXPECT_FALSE((*r)->authenticated());
  const std::string& why = (*r)->decided_by;
  EXPECT_NE(why.find("none usable"), std::string::npos) << why;
  EXPECT_NE(why.find("0 0 1 010101010101...: usage 0 (PKIX-TA)"), std::string::npos) << why;
  EXPECT_NE(why.find("SHA2-256 data of 20 bytes"), std::string::npos) << why;
}

/// The address answer of an MX host name that is an alias of `target` (RFC 7672 2.2.2).
net::DnsAnswer alias_answer(const std::string& target, bool secure) {
  net::DnsAnswer a;
  a.status = Status::Ok;
  a.secure = secure;
  a.canonical_name = target;
  a.addresses.push_back(asio::ip::make_address("192.0.2.9"));
  return a;
}

class DaneAliasTest : public DanePolicyTest {
 protected:
  const std::string target_owner = "_25._tcp.mx1.hosting.example";
  const tls::TlsaRecord other{3, 1, 1, Data(32, 0xcd)};
};

TEST_F(DaneAliasTest, SecureChainLooksAtTheExpandedNameFirstAndNamesBoth) {
  dns.address_answers["mx.example.org"] = alias_answer("mx1.hosting.example", true);
  dns.tlsa_answers[target_owner] = tlsa_answer(Status::Ok, true, {ee});
  dns.tlsa_answers[owner] = tlsa_answer(Status::Ok, true, {other});
  auto r = dane_requirement("mx.example.org", true, 25, "example.org", dns);
  ASSERT_TRUE(r) << r.error().one_line();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->level, TlsLevel::Dane);
  EXPECT_EQ((*r)->tlsa, std::vector<tls::TlsaRecord>{ee});  // the target's records, not the alias's
  // The TLSA base domain first (also SNI), then the original MX name, then the domain (RFC 7672 3.2.2).
  EXPECT_EQ((*r)->match_names, (std::vector<std::string>{"mx1.hosting.example", "mx.example.org", "example.org"}));
  EXPECT_EQ((*r)->decided_by,
            "DANE: DNSSEC-validated TLSA records for _25._tcp.mx1.hosting.example (expanded from mx.example.org) "
            "(1 usable of 1)");
}

TEST_F(DaneAliasTest, NoRecordsAtTheExpandedNameFallBackToTheOriginalName) {
  dns.address_answers["mx.example.org"] = alias_answer("mx1.hosting.example", true);
  dns.tlsa_answers[owner] = tlsa_answer(Status::Ok, true, {ee});
  for (auto status : {Status::NoData, Status::NxDomain}) {
    dns.tlsa_answers[target_owner] = tlsa_answer(status, true);
    auto r = dane_requirement("mx.example.org", true, 25, "example.org", dns);
    ASSERT_TRUE(r) << r.error().one_line();
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ((*r)->tlsa, std::vector<tls::TlsaRecord>{ee});
    EXPECT_EQ((*r)->match_names, (std::vector<std::string>{"mx.example.org", "example.org"}));
  }
}

TEST_F(DaneAliasTest, InsecureChainUsesOnlyTheOriginalName) {
  dns.address_answers["mx.example.org"] = alias_answer("mx1.hosting.example", false);
  dns.tlsa_answers[target_owner] = tlsa_answer(Status::Ok, true, {other});
  dns.tlsa_answers[owner] = tlsa_answer(Status::Ok, true, {ee});
  auto r = dane_requirement("mx.example.org", true, 25, "example.org", dns);
  ASSERT_TRUE(r) << r.error().one_line();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->tlsa, std::vector<tls::TlsaRecord>{ee});
  EXPECT_EQ((*r)->match_names, (std::vector<std::string>{"mx.example.org", "example.org"}));

  // Without records at the original name DANE does not apply, whatever the target publishes.
  dns.tlsa_answers[owner] = tlsa_answer(Status::NoData, true);
  auto none = dane_requirement("mx.example.org", true, 25, "example.org", dns);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TEST_F(DaneAliasTest, FailedLookupAtTheExpandedNameDefersWithoutFallingBack) {
  dns.address_answers["mx.example.org"] = alias_answer("mx1.hosting.example", true);
  dns.tlsa_answers[target_owner] = tlsa_answer(Status::TempFail, false);
  dns.tlsa_answers[owner] = tlsa_answer(Status::Ok, true, {ee});
  auto r = dane_requirement("mx.example.org", true, 25, "example.org", dns);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().enhanced, "4.7.5");
  EXPECT_NE(r.error().one_line().find("TLSA lookup for _25._tcp.mx1.hosting.example failed"), std::string::npos)
      << r.error().one_line();
}

}  // namespace
}  // namespace sluice::outbound
