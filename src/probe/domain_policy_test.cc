#include "probe/domain_policy.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "net/dns_test_util.h"
#include "probe/certificate_facts.h"
#include "tls/dane.h"
#include "tls/handshake_test_util.h"
#include "tls/tlsa_match.h"

namespace sluice::probe {
namespace {

using Level = PolicyVerdict::Level;
using Status = net::DnsAnswer::Status;

net::DnsRecords txt(std::vector<std::string> records, bool secure = false) {
  net::DnsRecords r;
  r.status = Status::Ok;
  r.secure = secure;
  r.txt = std::move(records);
  return r;
}

net::DnsRecords nothing() {
  net::DnsRecords r;
  r.status = Status::NxDomain;
  return r;
}

const char* kPolicy =
    "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.org\r\nmx: mx2.example.org\r\nmax_age: 604800\r\n";

/// A domain with two MX hosts whose published data is all in order; each test breaks one thing.
struct DomainPolicyTest : ::testing::Test {
  net::TableLookups dns;
  std::string policy_text = kPolicy;
  Result<std::string, mta_sts::FetchFailure> fetch_result = std::string(kPolicy);
  int fetches = 0;
  tls::test_util::Credentials mx1_cert = tls::test_util::make_self_signed("ec");
  tls::test_util::Credentials mx2_cert = tls::test_util::make_self_signed("ec");
  std::vector<Assessment> results;

  void SetUp() override {
    net::DnsAnswer mx;
    mx.status = Status::Ok;
    mx.secure = true;
    mx.hosts = {{"mx2.example.org", 20, false}, {"mx1.example.org", 10, false}};
    dns.mx_answers["example.org"] = mx;
    dns.txt_answers["_mta-sts.example.org"] = txt({"v=STSv1; id=20261208T1;", "some-verification=abc"});
    dns.txt_answers["_smtp._tls.example.org"] = txt({"v=TLSRPTv1; rua=mailto:tls@example.org"});
    publish_tlsa("mx1.example.org", tlsa_for(mx1_cert));
    publish_tlsa("mx2.example.org", tlsa_for(mx2_cert));
    results = {presenting("mx1.example.org", mx1_cert), presenting("mx2.example.org", mx2_cert)};
  }

  static tls::TlsaRecord tlsa_for(const tls::test_util::Credentials& c) {
    auto data = tls::tlsa_association({3, 1, 1, {}}, certificate_der(c.cert.get()));
    return {3, 1, 1, *data};
  }

  void publish_tlsa(const std::string& host, tls::TlsaRecord record, bool secure = true) {
    net::DnsRecords r;
    r.status = Status::Ok;
    r.secure = secure;
    r.tlsa = {std::move(record)};
    dns.tlsa_answers["_25._tcp." + host] = r;
  }

  static Assessment presenting(const std::string& host, const tls::test_util::Credentials& c) {
    Assessment a;
    a.target.host = host;
    a.target.mx_domain = "example.org";
    ChainFacts chain;
    chain.certificates.push_back({});
    chain.certificates.back().subject = "/CN=" + host;
    chain.trusted = true;
    chain.name_matches = true;
    chain.der = {certificate_der(c.cert.get())};
    a.chains.push_back(chain);
    return a;
  }

  DomainPolicy judged() {
    auto d = look_up_domain_policy("example.org", 25, dns, [this](const std::string& domain) {
      ++fetches;
      EXPECT_EQ(domain, "example.org");
      return fetch_result;
    });
    note_presented_certificates(d, results);
    judge_domain_policy(d);
    return d;
  }

  static std::vector<std::string> at(const DomainPolicy& d, Level level) {
    std::vector<std::string> out;
    for (const auto& v : d.verdicts)
      if (v.level == level) out.push_back(v.text);
    return out;
  }
};

TEST_F(DomainPolicyTest, AllInOrderGivesGoodNewsOnly) {
  auto d = judged();
  EXPECT_TRUE(d.pass());
  EXPECT_EQ(at(d, Level::Warning), std::vector<std::string>{});
  ASSERT_EQ(d.hosts.size(), 2u);
  EXPECT_EQ(d.hosts[0].host, "mx1.example.org");  // by preference
  ASSERT_TRUE(d.mta_sts.policy);
  EXPECT_EQ(d.mta_sts.policy->id, "20261208T1");
  EXPECT_EQ(at(d, Level::Ok),
            (std::vector<std::string>{
                "MTA-STS enforce (id 20261208T1, max_age 604800 s): every MX host is in the "
                "policy and presents a trusted certificate with its name",
                "DANE: mx1.example.org's certificate matches TLSA " + tls::tlsa_text(tlsa_for(mx1_cert)) + " (depth 0)",
                "DANE: mx2.example.org's certificate matches TLSA " + tls::tlsa_text(tlsa_for(mx2_cert)) + " (depth 0)",
                "TLS-RPT: reports go to mailto:tls@example.org"}));
}

TEST_F(DomainPolicyTest, MxOutsideAnEnforcedPolicyIsAProblem) {
  fetch_result = std::string("version: STSv1\nmode: enforce\nmx: mx1.example.org\nmax_age: 604800\n");
  auto d = judged();
  EXPECT_FALSE(d.pass());
  EXPECT_EQ(at(d, Level::Problem),
            std::vector<std::string>{"MTA-STS enforce, but mx2.example.org is not in the policy (mx: mx1.example.org): "
                                     "senders that honour MTA-STS will not deliver to it"});
}

TEST_F(DomainPolicyTest, InTestingModeTheSameIsAWarning) {
  fetch_result = std::string("version: STSv1\nmode: testing\nmx: *.example.net\nmax_age: 604800\n");
  auto d = judged();
  EXPECT_TRUE(d.pass());
  auto warnings = at(d, Level::Warning);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[0],
            "MTA-STS testing, but mx1.example.org is not in the policy (mx: *.example.net): senders report it "
            "(TLS-RPT) but deliver; in enforce mode they would not");
}

TEST_F(DomainPolicyTest, UntrustedCertificateUnderEnforceIsAProblem) {
  results[1].chains[0].trusted = false;
  results[1].chains[0].trust_error = "self-signed certificate";
  auto d = judged();
  EXPECT_EQ(at(d, Level::Problem),
            std::vector<std::string>{"MTA-STS enforce, but mx2.example.org: its certificate (/CN=mx2.example.org) is "
                                     "not trusted (self-signed certificate): senders that honour MTA-STS will not "
                                     "deliver to it"});
}

TEST_F(DomainPolicyTest, PolicyThatCannotBeFetchedIsAProblem) {
  fetch_result = fail(mta_sts::FetchFailure{std::string(mta_sts::kFetchError),
                                            "https://mta-sts.example.org/.well-known/mta-sts.txt: answered HTTP 404"});
  auto d = judged();
  EXPECT_EQ(fetches, 1);
  EXPECT_EQ(d.mta_sts.failure_type, "sts-policy-fetch-error");
  EXPECT_EQ(at(d, Level::Problem),
            std::vector<std::string>{"MTA-STS TXT record present but the policy cannot be fetched "
                                     "(https://mta-sts.example.org/.well-known/mta-sts.txt: answered HTTP 404): "
                                     "senders treat the domain as having no policy (or keep a cached one until it "
                                     "expires)"});
}

TEST_F(DomainPolicyTest, InvalidPolicyIsAProblemOfTypePolicyInvalid) {
  fetch_result = std::string("version: STSv1\nmode: sometimes\nmx: mx1.example.org\nmax_age: 604800\n");
  auto d = judged();
  EXPECT_EQ(d.mta_sts.failure_type, "sts-policy-invalid");
  ASSERT_EQ(at(d, Level::Problem).size(), 1u);
  EXPECT_NE(at(d, Level::Problem)[0].find("the policy is invalid: "), std::string::npos);
}

TEST_F(DomainPolicyTest, MalformedStsRecordIsAProblemAndNothingIsFetched) {
  dns.txt_answers["_mta-sts.example.org"] = txt({"v=STSv1; id=has space;"});
  auto d = judged();
  EXPECT_EQ(fetches, 0);
  EXPECT_FALSE(d.mta_sts.id);
  ASSERT_EQ(at(d, Level::Problem).size(), 1u);
  EXPECT_EQ(at(d, Level::Problem)[0].rfind("MTA-STS TXT record at _mta-sts.example.org is invalid (", 0), 0u);
  EXPECT_NE(at(d, Level::Problem)[0].find("): senders treat the domain as having no policy"), std::string::npos);
}

TEST_F(DomainPolicyTest, NoStsRecordIsAWarning) {
  dns.txt_answers["_mta-sts.example.org"] = nothing();
  auto d = judged();
  EXPECT_TRUE(d.pass());
  EXPECT_EQ(fetches, 0);
  EXPECT_EQ(at(d, Level::Warning), std::vector<std::string>{"no MTA-STS record at _mta-sts.example.org: senders use "
                                                            "opportunistic TLS, which an attacker can strip"});
}

TEST_F(DomainPolicyTest, TlsaMismatchIsAProblem) {
  auto stranger = tls::test_util::make_self_signed("ec");
  publish_tlsa("mx2.example.org", tlsa_for(stranger));
  auto d = judged();
  EXPECT_EQ(at(d, Level::Problem),
            std::vector<std::string>{"DANE: mx2.example.org's certificate (/CN=mx2.example.org) does not match its "
                                     "TLSA records (" +
                                     tls::tlsa_text(tlsa_for(stranger)) + "): DANE senders will defer all mail to it"});
}

TEST_F(DomainPolicyTest, TlsaWithoutSignedMxDoesNotApply) {
  dns.mx_answers["example.org"].secure = false;
  auto stranger = tls::test_util::make_self_signed("ec");
  publish_tlsa("mx2.example.org", tlsa_for(stranger));  // would mismatch, but DANE does not apply
  auto d = judged();
  EXPECT_TRUE(d.pass());
  EXPECT_EQ(at(d, Level::Warning),
            (std::vector<std::string>{
                "TLSA records at _25._tcp.mx1.example.org but the MX answer is not DNSSEC-signed: DANE does not apply",
                "TLSA records at _25._tcp.mx2.example.org but the MX answer is not DNSSEC-signed: DANE does not "
                "apply"}));
}

TEST_F(DomainPolicyTest, UnusableTlsaParametersEncryptWithoutAuthentication) {
  publish_tlsa("mx1.example.org", {1, 0, 1, std::vector<unsigned char>(32, 0xab)});
  auto d = judged();
  EXPECT_TRUE(d.pass());
  ASSERT_EQ(d.hosts[0].unusable.size(), 1u);
  auto warnings = at(d, Level::Warning);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].rfind("DANE: none of mx1.example.org's TLSA records is usable for SMTP (1 0 1 ", 0), 0u);
}

TEST_F(DomainPolicyTest, FailedTlsaLookupOfASecureMxIsAProblem) {
  dns.tlsa_answers.erase("_25._tcp.mx1.example.org");  // the table answers SERVFAIL
  auto d = judged();
  EXPECT_EQ(at(d, Level::Problem),
            std::vector<std::string>{"DANE: the TLSA lookup for _25._tcp.mx1.example.org failed (SERVFAIL for "
                                     "_25._tcp.mx1.example.org): DANE senders defer mail to it"});
}

TEST_F(DomainPolicyTest, TlsaButNoCertificateSeenIsAProblem) {
  results[0].chains.clear();
  results[0].error = "connection refused";
  auto d = judged();
  auto problems = at(d, Level::Problem);
  ASSERT_EQ(problems.size(), 2u);  // MTA-STS cannot accept it either
  EXPECT_EQ(problems[1],
            "DANE: mx1.example.org publishes TLSA records but no certificate could be seen (not "
            "assessed: connection refused): DANE senders defer mail to it");
}

TEST_F(DomainPolicyTest, LookupsThatTimeOutAreSaidSo) {
  dns.txt_answers.erase("_mta-sts.example.org");  // the table answers SERVFAIL
  dns.txt_answers.erase("_smtp._tls.example.org");
  auto d = judged();
  EXPECT_EQ(fetches, 0);
  EXPECT_EQ(at(d, Level::Problem), std::vector<std::string>{"MTA-STS could not be checked: the _mta-sts.example.org "
                                                            "TXT lookup failed (SERVFAIL for _mta-sts.example.org)"});
  EXPECT_EQ(at(d, Level::Warning),
            std::vector<std::string>{"TLS-RPT could not be checked: the _smtp._tls.example.org TXT lookup failed "
                                     "(SERVFAIL for _smtp._tls.example.org)"});
}

TEST_F(DomainPolicyTest, TlsRptMissingIsAWarningAndMalformedAProblem) {
  dns.txt_answers["_smtp._tls.example.org"] = txt({"v=spf1 -all"});
  auto d = judged();
  EXPECT_EQ(at(d, Level::Warning), std::vector<std::string>{"no TLS-RPT record at _smtp._tls.example.org: you will "
                                                            "not hear about failures"});
  dns.txt_answers["_smtp._tls.example.org"] = txt({"v=TLSRPTv1; rua=ftp://reports.example.org"});
  d = judged();
  ASSERT_EQ(at(d, Level::Problem).size(), 1u);
  EXPECT_EQ(at(d, Level::Problem)[0].rfind("TLS-RPT record at _smtp._tls.example.org is invalid (", 0), 0u);
}

}  // namespace
}  // namespace sluice::probe
