// DANE on a client SSL against real OpenSSL handshakes (in memory): usable records, EE and TA
// matches, mismatches, and the names and dates RFC 7672 3.1 and 3.2 ignore or check.
#include "tls/dane.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <string>
#include <vector>

#include "tls/handshake_test_util.h"

namespace sluice::tls {
namespace {

using namespace test_util;
using Data = std::vector<unsigned char>;

Data der_of_certificate(X509* cert) {
  unsigned char* buf = nullptr;
  int len = i2d_X509(cert, &buf);
  Data out(buf, buf + len);
  OPENSSL_free(buf);
  return out;
}

Data der_of_spki(X509* cert) {
  unsigned char* buf = nullptr;
  int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &buf);
  Data out(buf, buf + len);
  OPENSSL_free(buf);
  return out;
}

Data sha256_of(const Data& d) {
  Data out(32);
  SHA256(d.data(), d.size(), out.data());
  return out;
}

Data sha512_of(const Data& d) {
  Data out(64);
  SHA512(d.data(), d.size(), out.data());
  return out;
}

/// A leaf for `dns_name` signed by `issuer` (self-signed when null), valid from `from` to `to`
/// seconds relative to now.
Credentials make_leaf_for(const std::string& dns_name, const Credentials* issuer, long from = -3600, long to = 3600) {
  Credentials c;
  c.key.reset(EVP_EC_gen("P-256"));
  c.cert.reset(X509_new());
  X509_set_version(c.cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.cert.get()), 7);
  X509_gmtime_adj(X509_getm_notBefore(c.cert.get()), from);
  X509_gmtime_adj(X509_getm_notAfter(c.cert.get()), to);
  X509_NAME* name = X509_get_subject_name(c.cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(dns_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(c.cert.get(), issuer ? X509_get_subject_name(issuer->cert.get()) : name);
  X509_set_pubkey(c.cert.get(), c.key.get());
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer ? issuer->cert.get() : c.cert.get(), c.cert.get(), nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, ("DNS:" + dns_name).c_str());
  X509_add_ext(c.cert.get(), san, -1);
  X509_EXTENSION_free(san);
  X509_sign(c.cert.get(), issuer ? issuer->key.get() : c.key.get(), EVP_sha256());
  return c;
}

/// A CA certificate that may sign leaves.
Credentials make_test_ca() {
  Credentials ca = make_self_signed("ec");
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, ca.cert.get(), ca.cert.get(), nullptr, nullptr, 0);
  X509_EXTENSION* bc = X509V3_EXT_conf_nid(nullptr, &v3, NID_basic_constraints, "critical,CA:TRUE");
  X509_add_ext(ca.cert.get(), bc, -1);
  X509_EXTENSION_free(bc);
  X509_sign(ca.cert.get(), ca.key.get(), EVP_sha256());
  return ca;
}

struct DaneRun {
  Connection connection;
  Result<void> setup;
};

DaneRun dane_handshake(const Credentials& server, const std::vector<std::string>& names,
                       const std::vector<TlsaRecord>& tlsa, X509* chain_extra = nullptr) {
  CtxPtr server_ctx = make_ctx(true, &server);
  if (chain_extra != nullptr) SSL_CTX_add1_chain_cert(server_ctx.get(), chain_extra);
  CtxPtr client_ctx = make_ctx(false);
  DaneRun run;
  // DANE must be set up on the client SSL before its handshake starts.
  SslPtr client(SSL_new(client_ctx.get()));
  run.setup = set_dane_peer(client.get(), names, tlsa);
  if (!run.setup) return run;
  run.connection = handshake(std::move(client), SslPtr(SSL_new(server_ctx.get())));
  ERR_clear_error();
  return run;
}

TEST(DaneRecords, OnlyDaneUsagesWithKnownSelectorsAndRightDigestLengthsAreUsable) {
  const TlsaRecord good[] = {
      {3, 1, 1, Data(32, 1)}, {2, 0, 1, Data(32, 2)}, {3, 0, 2, Data(64, 3)}, {2, 1, 0, Data(91, 4)}};
  for (const auto& r : good) EXPECT_EQ(tlsa_unusable_reason(r), "") << tlsa_text(r);
  const std::pair<TlsaRecord, const char*> bad[] = {
      {{0, 0, 1, Data(32, 1)}, "usage 0 (PKIX-TA) is not used for SMTP"},
      {{1, 1, 1, Data(32, 1)}, "usage 1 (PKIX-EE)"},
      {{4, 1, 1, Data(32, 1)}, "unknown usage 4"},
      {{3, 2, 1, Data(32, 1)}, "unknown selector 2"},
      {{3, 1, 3, Data(32, 1)}, "unknown matching type 3"},
      {{3, 1, 1, Data(31, 1)}, "SHA2-256 data of 31 bytes instead of 32"},
      {{3, 1, 2, Data(32, 1)}, "SHA2-512 data of 32 bytes instead of 64"},
      {{3, 1, 0, Data{}}, "empty association data"},
  };
  std::vector<TlsaRecord> all(std::begin(good), std::end(good));
  for (const auto& [r, why] : bad) {
    EXPECT_NE(tlsa_unusable_reason(r).find(why), std::string::npos) << tlsa_unusable_reason(r);
    all.push_back(r);
  }
  EXPECT_EQ(usable_tlsa(all), std::vector<TlsaRecord>(std::begin(good), std::end(good)));
}

TEST(DaneRecords, TextAbbreviatesTheData) {
  EXPECT_EQ(tlsa_text({3, 1, 1, Data{0xab, 0x12, 0xcd, 0x34, 0xef, 0x56, 0x78, 0x9a}}), "3 1 1 ab12cd34ef56...");
  EXPECT_EQ(tlsa_text({2, 0, 0, Data{0x01, 0x02}}), "2 0 0 0102");
}

TEST(DaneHandshake, DaneEeMatchesBySpkiOrCertificateDigestOrFullData) {
  Credentials server = make_leaf_for("mx.example.test", nullptr);
  const TlsaRecord records[] = {{3, 1, 1, sha256_of(der_of_spki(server.cert.get()))},
                                {3, 0, 1, sha256_of(der_of_certificate(server.cert.get()))},
                                {3, 1, 2, sha512_of(der_of_spki(server.cert.get()))},
                                {3, 1, 0, der_of_spki(server.cert.get())}};
  for (const auto& record : records) {
    auto run = dane_handshake(server, {"mx.example.test"}, {record});
    ASSERT_TRUE(run.setup) << run.setup.error().message;
    ASSERT_TRUE(run.connection.client_ok) << tlsa_text(record);
    auto match = dane_match(run.connection.client.get(), "mx.example.test");
    ASSERT_TRUE(match) << match.error().message;
    EXPECT_EQ(*match, "certificate matched TLSA " + tlsa_text(record) + " of mx.example.test (depth 0)");
  }
}

TEST(DaneHandshake, DaneEeIgnoresNamesAndExpiry) {
  Credentials expired = make_leaf_for("elsewhere.invalid", nullptr, -7200, -3600);
  TlsaRecord record{3, 1, 1, sha256_of(der_of_spki(expired.cert.get()))};
  auto run = dane_handshake(expired, {"mx.example.test", "example.test"}, {record});
  ASSERT_TRUE(run.setup) << run.setup.error().message;
  EXPECT_TRUE(run.connection.client_ok);
  EXPECT_TRUE(dane_match(run.connection.client.get(), "mx.example.test"));
}

TEST(DaneHandshake, NoMatchingRecordFailsTheHandshakeWithATlsaMismatch) {
  Credentials server = make_leaf_for("mx.example.test", nullptr);
  Credentials other = make_leaf_for("mx.example.test", nullptr);
  TlsaRecord wrong{3, 1, 1, sha256_of(der_of_spki(other.cert.get()))};
  auto run = dane_handshake(server, {"mx.example.test"}, {wrong, {0, 0, 1, Data(32, 9)}});
  ASSERT_TRUE(run.setup) << run.setup.error().message;
  EXPECT_FALSE(run.connection.client_ok);
  EXPECT_EQ(
      dane_failure(run.connection.client.get(), "mx.example.test", {wrong, {0, 0, 1, Data(32, 9)}}),
      "TLSA mismatch: no TLSA record of mx.example.test matches its certificate chain (" + tlsa_text(wrong) + ")");
}

TEST(DaneHandshake, RolloverWithTwoRecordsMatchesEither) {
  Credentials old_key = make_leaf_for("mx.example.test", nullptr);
  Credentials new_key = make_leaf_for("mx.example.test", nullptr);
  std::vector<TlsaRecord> both{{3, 1, 1, sha256_of(der_of_spki(old_key.cert.get()))},
                               {3, 1, 1, sha256_of(der_of_spki(new_key.cert.get()))}};
  for (const Credentials* server : {&old_key, &new_key}) {
    auto run = dane_handshake(*server, {"mx.example.test"}, both);
    ASSERT_TRUE(run.setup) << run.setup.error().message;
    EXPECT_TRUE(run.connection.client_ok);
    auto match = dane_match(run.connection.client.get(), "mx.example.test");
    ASSERT_TRUE(match) << match.error().message;
    EXPECT_NE(match->find(tlsa_text(server == &old_key ? both[0] : both[1])), std::string::npos) << *match;
  }
}

TEST(DaneHandshake, DaneTaChecksTheReferenceNames) {
  Credentials ca = make_test_ca();
  Credentials leaf = make_leaf_for("mx.example.test", &ca);
  TlsaRecord anchor{2, 0, 1, sha256_of(der_of_certificate(ca.cert.get()))};

  auto good = dane_handshake(leaf, {"mx.example.test", "example.test"}, {anchor}, ca.cert.get());
  ASSERT_TRUE(good.setup) << good.setup.error().message;
  EXPECT_TRUE(good.connection.client_ok);
  auto match = dane_match(good.connection.client.get(), "mx.example.test");
  ASSERT_TRUE(match) << match.error().message;
  EXPECT_NE(match->find("TLSA 2 0 1"), std::string::npos) << *match;
  EXPECT_NE(match->find("(depth 1)"), std::string::npos) << *match;

  // The recipient domain is a reference identifier too (RFC 7672 3.2.2).
  Credentials domain_leaf = make_leaf_for("example.test", &ca);
  auto by_domain = dane_handshake(domain_leaf, {"mx.example.test", "example.test"}, {anchor}, ca.cert.get());
  EXPECT_TRUE(by_domain.connection.client_ok);

  auto wrong_name = dane_handshake(leaf, {"mx.other.test", "other.test"}, {anchor}, ca.cert.get());
  ASSERT_TRUE(wrong_name.setup);
  EXPECT_FALSE(wrong_name.connection.client_ok);
  auto why = dane_failure(wrong_name.connection.client.get(), "mx.other.test", {anchor});
  EXPECT_NE(why.find("TLSA mismatch: the certificate chain of mx.other.test failed DANE verification"),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("hostname mismatch"), std::string::npos) << why;
}

TEST(DaneHandshake, SetupRefusesWithoutUsableRecordsOrBaseDomain) {
  CtxPtr ctx = make_ctx(false);
  SslPtr ssl(SSL_new(ctx.get()));
  auto none = set_dane_peer(ssl.get(), {"mx.example.test"}, {{1, 1, 1, Data(32, 1)}});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message, "no usable TLSA record for mx.example.test");
  auto nameless = set_dane_peer(ssl.get(), {}, {{3, 1, 1, Data(32, 1)}});
  ASSERT_FALSE(nameless);
  EXPECT_NE(nameless.error().message.find("TLSA base domain"), std::string::npos);
}

}  // namespace
}  // namespace sluice::tls
