// TXT and TLSA lookups and the DNSSEC status of answers (Resolver::txt, tlsa, `secure`).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "net/dns.h"
#include "net/fake_dns_server.h"

namespace sluice::net {
namespace {

using namespace std::chrono_literals;
using namespace fake_dns;
using Status = DnsAnswer::Status;

class DnsRecordsTest : public ::testing::Test {
 protected:
  FakeDns dns;
  Resolver resolver{{dns.server()}, 2s};  // loopback: trusted by default
};

TEST_F(DnsRecordsTest, TxtJoinsTheStringsOfEachRecord) {
  dns.txt("_mta-sts.example.test", {"v=STSv1; ", "id=20260101;"});
  dns.txt("_mta-sts.example.test", {"second"});
  auto answer = resolver.txt("_mta-sts.example.test.");
  ASSERT_EQ(answer.status, Status::Ok) << answer.error;
  EXPECT_EQ(answer.txt, (std::vector<std::string>{"v=STSv1; id=20260101;", "second"}));
  EXPECT_TRUE(answer.tlsa.empty());
}

TEST_F(DnsRecordsTest, TlsaRecordsAsPublished) {
  dns.tlsa("_25._tcp.mx.example.test", 3, 1, 1, Bytes(32, 0xab));
  dns.tlsa("_25._tcp.mx.example.test", 0, 0, 0, Bytes{1, 2, 3});
  auto answer = resolver.tlsa("_25._tcp.mx.example.test");
  ASSERT_EQ(answer.status, Status::Ok) << answer.error;
  ASSERT_EQ(answer.tlsa.size(), 2u);
  EXPECT_EQ(answer.tlsa[0], (tls::TlsaRecord{3, 1, 1, std::vector<unsigned char>(32, 0xab)}));
  EXPECT_EQ(answer.tlsa[1], (tls::TlsaRecord{0, 0, 0, {1, 2, 3}}));
}

TEST_F(DnsRecordsTest, MissingRecordsAndFailuresMapAsForMx) {
  dns.a("mx.example.test", "192.0.2.1");
  auto nodata = resolver.tlsa("mx.example.test");
  EXPECT_EQ(nodata.status, Status::NoData);
  EXPECT_NE(nodata.error.find("no TLSA record for mx.example.test"), std::string::npos) << nodata.error;

  auto nx = resolver.txt("_smtp._tls.nowhere.test");
  EXPECT_EQ(nx.status, Status::NxDomain);
  EXPECT_NE(nx.error.find("NXDOMAIN"), std::string::npos) << nx.error;

  dns.rcode("_25._tcp.broken.test", kTypeTlsa, kServFail);
  auto servfail = resolver.tlsa("_25._tcp.broken.test");
  EXPECT_EQ(servfail.status, Status::TempFail);
  EXPECT_NE(servfail.error.find("SERVFAIL from " + dns.server() + " for TLSA _25._tcp.broken.test"), std::string::npos)
      << servfail.error;

  EXPECT_EQ(resolver.txt("bad name.test").status, Status::NxDomain);
}

TEST_F(DnsRecordsTest, MalformedRecordsAreATemporaryFailureNamingTheRecord) {
  dns.raw("_25._tcp.short.test", kTypeTlsa, Bytes{3, 1});
  auto tlsa = resolver.tlsa("_25._tcp.short.test");
  EXPECT_EQ(tlsa.status, Status::TempFail);
  EXPECT_NE(tlsa.error.find("malformed TLSA record"), std::string::npos) << tlsa.error;

  dns.raw("_mta-sts.bad.test", kTypeTxt, Bytes{5, 'a', 'b'});
  auto txt = resolver.txt("_mta-sts.bad.test");
  EXPECT_EQ(txt.status, Status::TempFail);
  EXPECT_NE(txt.error.find("malformed TXT record"), std::string::npos) << txt.error;
}

TEST_F(DnsRecordsTest, QueriesAskForTheAdBit) {
  dns.mx("example.test", 10, "mx.example.test");
  ASSERT_EQ(resolver.mx("example.test").status, Status::Ok);
  EXPECT_TRUE(dns.last_query_ad());
}

TEST_F(DnsRecordsTest, AdBitFromATrustedResolverMakesAnswersSecure) {
  dns.mx("example.test", 10, "mx.example.test");
  dns.a("mx.example.test", "192.0.2.1");
  dns.tlsa("_25._tcp.mx.example.test", 3, 1, 1, Bytes(32, 1));
  dns.txt("_smtp._tls.example.test", {"v=TLSRPTv1; rua=mailto:r@example.test"});
  dns.exists("_25._tcp.none.example.test");
  EXPECT_FALSE(resolver.mx("example.test").secure);
  EXPECT_FALSE(resolver.tlsa("_25._tcp.mx.example.test").secure);

  dns.authenticate(true);
  EXPECT_TRUE(resolver.mx("example.test").secure);
  EXPECT_TRUE(resolver.addresses("mx.example.test").secure);
  EXPECT_TRUE(resolver.tlsa("_25._tcp.mx.example.test").secure);
  EXPECT_TRUE(resolver.txt("_smtp._tls.example.test").secure);
  auto denial = resolver.tlsa("_25._tcp.none.example.test");
  EXPECT_EQ(denial.status, Status::NoData);
  EXPECT_TRUE(denial.secure);  // a validated denial: DANE does not apply, securely

  Resolver listed({dns.server()}, std::vector<std::string>{dns.server()}, 2s);
  EXPECT_TRUE(listed.tlsa("_25._tcp.mx.example.test").secure);
}

TEST_F(DnsRecordsTest, AdBitFromAnUntrustedServerIsIgnored) {
  dns.authenticate(true);
  dns.tlsa("_25._tcp.mx.example.test", 3, 1, 1, Bytes(32, 1));
  dns.mx("example.test", 10, "mx.example.test");
  Resolver other({dns.server()}, std::vector<std::string>{"127.0.0.1:1"}, 2s);
  auto tlsa = other.tlsa("_25._tcp.mx.example.test");
  ASSERT_EQ(tlsa.status, Status::Ok) << tlsa.error;
  EXPECT_FALSE(tlsa.secure);
  EXPECT_FALSE(other.mx("example.test").secure);
  Resolver none({dns.server()}, std::vector<std::string>{}, 2s);
  EXPECT_FALSE(none.mx("example.test").secure);
}

TEST_F(DnsRecordsTest, ImplicitMxIsSecureOnlyWhenTheAddressIsToo) {
  dns.authenticate(true);
  dns.a("example.test", "192.0.2.10");
  auto secure = resolver.mx("example.test");
  ASSERT_EQ(secure.status, Status::Ok) << secure.error;
  EXPECT_TRUE(secure.hosts[0].implicit);
  EXPECT_TRUE(secure.secure);
  dns.authenticate(false);
  EXPECT_FALSE(resolver.mx("example.test").secure);
}

TEST_F(DnsRecordsTest, AfterATrustedResolversServFailUntrustedServersAreNotAsked) {
  // A validating resolver's SERVFAIL may mean "bogus": an untrusted server's insecure answer
  // must not take its place, or DANE could be stripped.
  FakeDns untrusted;
  untrusted.tlsa("_25._tcp.mx.example.test", 3, 1, 1, Bytes(32, 1));
  dns.rcode("_25._tcp.mx.example.test", kTypeTlsa, kServFail);
  Resolver both({dns.server(), untrusted.server()}, std::vector<std::string>{dns.server()}, 2s);
  auto answer = both.tlsa("_25._tcp.mx.example.test");
  EXPECT_EQ(answer.status, Status::TempFail);
  EXPECT_NE(answer.error.find("SERVFAIL from " + dns.server()), std::string::npos) << answer.error;
  EXPECT_EQ(untrusted.queries(), 0);

  // The other way round a stub resolver's usual failover applies.
  Resolver reversed({untrusted.server(), dns.server()}, std::vector<std::string>{dns.server()}, 2s);
  untrusted.rcode("example.test", kTypeMx, kServFail);
  dns.mx("example.test", 10, "mx.example.test");
  dns.authenticate(true);
  auto mx = reversed.mx("example.test");
  ASSERT_EQ(mx.status, Status::Ok) << mx.error;
  EXPECT_TRUE(mx.secure);
}

TEST(DnsResolver, MalformedTrustedResolverThrows) {
  EXPECT_THROW(Resolver({"127.0.0.1"}, std::vector<std::string>{"resolver.example"}, 1s), std::runtime_error);
}

TEST_F(DnsRecordsTest, AddressesOfAnAliasNameTheEndOfItsCnameChain) {
  dns.authenticate(true);
  dns.cname("mx.example.test", "mid.hosting.test");
  dns.cname("mid.hosting.test", "mx1.Hosting.test");
  dns.a("mx1.hosting.test", "192.0.2.9");
  dns.a("plain.example.test", "192.0.2.10");
  auto alias = resolver.addresses("mx.example.test");
  ASSERT_EQ(alias.status, Status::Ok) << alias.error;
  ASSERT_EQ(alias.addresses.size(), 1u);
  EXPECT_EQ(alias.addresses[0].to_string(), "192.0.2.9");
  EXPECT_EQ(alias.canonical_name, "mx1.Hosting.test");  // as the answer spells it
  EXPECT_TRUE(alias.secure);
  auto plain = resolver.addresses("plain.example.test");
  ASSERT_EQ(plain.status, Status::Ok) << plain.error;
  EXPECT_EQ(plain.canonical_name, "");  // no alias
}

}  // namespace
}  // namespace sluice::net
