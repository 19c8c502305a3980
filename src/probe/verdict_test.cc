#include "probe/verdict.h"

#include <gtest/gtest.h>

namespace sluice::probe {
namespace {

smtp::Reply ehlo_with_starttls() { return {250, "", {"mx.example.org", "PIPELINING", "STARTTLS"}}; }

/// A server that offers exactly `versions`, each with `suites`.
Assessment server(std::vector<tls::Version> versions, const std::vector<std::string>& suites) {
  Assessment a;
  a.target.host = "mx.example.org";
  a.discovery.smtp.banner = smtp::Reply{220, "", {"mx.example.org ESMTP"}};
  a.discovery.smtp.ehlo = ehlo_with_starttls();
  for (std::size_t i = 0; i < a.versions.size(); ++i) {
    auto& f = a.versions[i];
    f.version = probed_versions()[i];
    f.state = VersionState::NotOffered;
    f.detail = "alert protocol version";
    f.enumeration_complete = true;
    if (std::find(versions.begin(), versions.end(), f.version) == versions.end()) continue;
    f.state = VersionState::Offered;
    for (const auto& s : suites)
      if (const CipherSuite* suite = find_suite(s)) f.suites.push_back({suite, "X25519"});
  }
  ChainFacts chain;
  CertificateFacts leaf;
  leaf.subject = "/CN=mx.example.org";
  leaf.issuer = "/C=US/O=Example CA/CN=Example Issuing CA";
  leaf.dns_names = {"mx.example.org"};
  leaf.signature_algorithm = "sha256WithRSAEncryption";
  chain.certificates.push_back(leaf);
  chain.trusted = true;
  chain.expected_name = "mx.example.org";
  chain.name_matches = true;
  a.chains.push_back(chain);
  return a;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST(Verdict, ModernServerPassesBoth) {
  auto a = server({tls::Version::Tls1_2, tls::Version::Tls1_3}, {"ECDHE-RSA-AES128-GCM-SHA256"});
  judge(a);
  EXPECT_TRUE(verdict_for(a, "exchange-online")->pass) << joined(verdict_for(a, "exchange-online")->reasons);
  EXPECT_TRUE(verdict_for(a, "modern")->pass);
}

TEST(Verdict, ATrustedMatchingCertificateIsSaidSoWithoutConsequences) {
  auto a = server({tls::Version::Tls1_2}, {"ECDHE-RSA-AES128-GCM-SHA256"});
  judge(a);
  const Verdict* v = verdict_for(a, "exchange-online");
  EXPECT_TRUE(v->pass);
  EXPECT_NE(joined(v->reasons).find("The certificate is trusted and matches mx.example.org."), std::string::npos)
      << joined(v->reasons);
  EXPECT_TRUE(v->consequences.empty()) << joined(v->consequences);
}

TEST(Verdict, SelfSignedCertificateIsSaidPlainlyWithWhatValidatingConnectorsDo) {
  auto a = server({tls::Version::Tls1_2}, {"ECDHE-RSA-AES128-GCM-SHA256"});
  a.chains[0].certificates[0].self_signed = true;
  a.chains[0].trusted = false;
  a.chains[0].trust_error = "self-signed certificate";
  judge(a);
  const Verdict* v = verdict_for(a, "exchange-online");
  // Exchange Online's default delivery does not validate: still a pass, but not a silent one.
  EXPECT_TRUE(v->pass);
  EXPECT_NE(joined(v->reasons).find("The certificate (/CN=mx.example.org) is self-signed"), std::string::npos)
      << joined(v->reasons);
  EXPECT_EQ(joined(v->reasons).find("trusted and matches"), std::string::npos);
  std::string c = joined(v->consequences);
  EXPECT_NE(c.find("opportunistic TLS and does not validate certificates"), std::string::npos) << c;
  EXPECT_NE(c.find("TlsSettings CertificateValidation or DomainValidation"), std::string::npos) << c;
  EXPECT_NE(c.find("partner connector that requires a certificate subject"), std::string::npos) << c;
  EXPECT_NE(c.find("450 4.7.320 Certificate validation failed\" and"), std::string::npos) << c;
  EXPECT_NE(c.find("MTA-STS"), std::string::npos) << c;
  EXPECT_NE(c.find("DANE-EE"), std::string::npos) << c;
}

TEST(Verdict, NameMismatchNamesTheHostAndWhatTheCertificateNames) {
  auto a = server({tls::Version::Tls1_2}, {"ECDHE-RSA-AES128-GCM-SHA256"});
  a.chains[0].expected_name = "mail.contoso.test";
  a.chains[0].name_matches = false;
  a.chains[0].certificates[0].dns_names = {"server1", "server1.contoso.local"};
  judge(a);
  const Verdict* v = verdict_for(a, "exchange-online");
  EXPECT_NE(joined(v->reasons)
                .find("The certificate does not match the host name mail.contoso.test (it names "
                      "server1, server1.contoso.local)."),
            std::string::npos)
      << joined(v->reasons);
  EXPECT_NE(joined(v->consequences).find("(MSG=SubjectMismatch)"), std::string::npos);
  // Probed by address: the name that matters is the MX host name.
  a.chains[0].expected_name = "192.0.2.25";
  judge(a);
  EXPECT_NE(joined(verdict_for(a, "exchange-online")->reasons).find("probe the server by that name"),
            std::string::npos);
}

TEST(Verdict, UntrustedChainGivesTheVerificationError) {
  auto a = server({tls::Version::Tls1_2}, {"ECDHE-RSA-AES128-GCM-SHA256"});
  a.chains[0].trusted = false;
  a.chains[0].trust_error = "unable to get local issuer certificate";
  judge(a);
  const Verdict* v = verdict_for(a, "exchange-online");
  EXPECT_NE(joined(v->reasons)
                .find("The certificate chain of /CN=mx.example.org is not trusted (unable to get "
                      "local issuer certificate)."),
            std::string::npos)
      << joined(v->reasons);
  EXPECT_EQ(joined(v->consequences).find("SubjectMismatch"), std::string::npos);
  EXPECT_FALSE(v->consequences.empty());
}

TEST(Verdict, Tls10OnlyServerFailsWithTheSymptoms) {
  auto a = server({tls::Version::Tls1_0}, {"AES128-SHA"});
  judge(a);
  const Verdict* v = verdict_for(a, "exchange-online");
  EXPECT_FALSE(v->pass);
  EXPECT_NE(joined(v->reasons).find("TLS 1.2 is not offered (alert protocol version); the server offers TLS 1.0"),
            std::string::npos)
      << joined(v->reasons);
  EXPECT_NE(joined(v->consequences).find("421 4.4.2 Connection dropped due to SocketError"), std::string::npos);
  EXPECT_FALSE(verdict_for(a, "modern")->pass);
}

TEST(Verdict, NoCommonSuiteWithOffice365Fails) {
  auto a = server({tls::Version::Tls1_2}, {"ECDHE-ECDSA-AES128-GCM-SHA256"});
  judge(a);
  const Verdict* v = verdict_for(a, "exchange-online");
  EXPECT_FALSE(v->pass);
  EXPECT_NE(joined(v->reasons).find("No TLS 1.2 cipher suite in common with Office 365"), std::string::npos);
  EXPECT_TRUE(verdict_for(a, "modern")->pass);
}

TEST(Verdict, Sha1CertificateFails) {
  auto a = server({tls::Version::Tls1_2}, {"ECDHE-RSA-AES128-GCM-SHA256"});
  a.chains[0].has_sha1_signature = true;
  judge(a);
  EXPECT_FALSE(verdict_for(a, "exchange-online")->pass);
  EXPECT_NE(joined(verdict_for(a, "exchange-online")->reasons).find("SHA-1"), std::string::npos);
}

TEST(Verdict, LegacyVersionsBesideTls12FailOnlyModern) {
  auto a = server({tls::Version::Tls1_0, tls::Version::Tls1_1, tls::Version::Tls1_2}, {"ECDHE-RSA-AES128-SHA"});
  judge(a);
  EXPECT_TRUE(verdict_for(a, "exchange-online")->pass);
  const Verdict* v = verdict_for(a, "modern");
  EXPECT_FALSE(v->pass);
  EXPECT_NE(joined(v->reasons).find("TLS 1.0 is offered; RFC 8996 says it MUST NOT be used."), std::string::npos);
  EXPECT_NE(joined(v->reasons).find("TLS 1.1 is offered"), std::string::npos);
}

TEST(Verdict, NoStartTlsFailsWithTheConnectorConsequence) {
  auto a = server({}, {});
  a.discovery.smtp.ehlo = smtp::Reply{250, "", {"mx.example.org", "PIPELINING"}};
  judge(a);
  const Verdict* v = verdict_for(a, "exchange-online");
  EXPECT_FALSE(v->pass);
  EXPECT_NE(joined(v->consequences).find("450 4.4.317 Cannot connect to remote server"), std::string::npos);
}

TEST(Verdict, UnknownIsNeverAPass) {
  auto a = server({tls::Version::Tls1_3}, {"TLS_AES_128_GCM_SHA256"});
  a.versions[2].state = VersionState::Unknown;
  a.versions[2].detail = "timeout: TLS handshake timed out";
  judge(a);
  EXPECT_FALSE(verdict_for(a, "exchange-online")->pass);
  EXPECT_FALSE(verdict_for(a, "modern")->pass);
  a = server({tls::Version::Tls1_2}, {"ECDHE-RSA-AES128-GCM-SHA256"});
  a.error = "connect-failed: Connection refused";
  judge(a);
  EXPECT_FALSE(verdict_for(a, "exchange-online")->pass);
  EXPECT_NE(joined(verdict_for(a, "modern")->reasons).find("Connection refused"), std::string::npos);
}

}  // namespace
}  // namespace sluice::probe
