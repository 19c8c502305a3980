#include "tls/exchange_names.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <string>

#include "tls/handshake_test_util.h"

namespace sluice::tls {
namespace {

using test_util::CtxPtr;

/// Looks a suite up by its OpenSSL name among everything this OpenSSL build can do.
class CipherTable {
 public:
  CipherTable() : ctx_(SSL_CTX_new(TLS_method())) {
    SSL_CTX_set_security_level(ctx_.get(), 0);
    SSL_CTX_set_cipher_list(ctx_.get(), "ALL:@SECLEVEL=0");
  }
  const SSL_CIPHER* find(const std::string& name) const {
    STACK_OF(SSL_CIPHER)* all = SSL_CTX_get_ciphers(ctx_.get());
    for (int i = 0; i < sk_SSL_CIPHER_num(all); ++i) {
      const SSL_CIPHER* c = sk_SSL_CIPHER_value(all, i);
      if (name == SSL_CIPHER_get_name(c)) return c;
    }
    return nullptr;
  }

 private:
  CtxPtr ctx_;
};

const CipherTable& table() {
  static const CipherTable t;
  return t;
}

const SSL_CIPHER* must_find(const std::string& name) {
  const SSL_CIPHER* c = table().find(name);
  EXPECT_NE(c, nullptr) << name << " missing from this OpenSSL build";
  return c;
}

TEST(ExchangeNames, PublishedTls12GcmLine) {
  const SSL_CIPHER* c = must_find("ECDHE-RSA-AES128-GCM-SHA256");
  ASSERT_NE(c, nullptr);
  ExchangeCipherNames n = exchange_cipher_names(c, 256);
  EXPECT_EQ(exchange_success_sentence(Version::Tls1_2, true, n),
            "TLS protocol SP_PROT_TLS1_2_SERVER negotiation succeeded using bulk encryption algorithm "
            "CALG_AES_128 with strength 128 bits, MAC hash algorithm CALG_SHA_256 with strength 0 bits and key "
            "exchange algorithm CALG_ECDH_EPHEM with strength 256 bits");
}

TEST(ExchangeNames, EcdheCbcSha1) {
  const SSL_CIPHER* c = must_find("ECDHE-RSA-AES256-SHA");
  ASSERT_NE(c, nullptr);
  ExchangeCipherNames n = exchange_cipher_names(c, 256);
  EXPECT_EQ(n.bulk, "CALG_AES_256");
  EXPECT_EQ(n.bulk_bits, 256);
  EXPECT_EQ(n.mac, "CALG_SHA1");
  EXPECT_EQ(n.mac_bits, 160);
  EXPECT_EQ(n.kx, "CALG_ECDH_EPHEM");
  EXPECT_EQ(n.kx_bits, 256);
  // Same suite as the published Exchange 2013 TLS 1.0 client line (which says CALG_ECDHE, the
  // older Windows spelling of the same exchange).
  EXPECT_EQ(exchange_success_sentence(Version::Tls1_0, false, n),
            "TLS protocol SP_PROT_TLS1_0_CLIENT negotiation succeeded using bulk encryption algorithm "
            "CALG_AES_256 with strength 256 bits, MAC hash algorithm CALG_SHA1 with strength 160 bits and key "
            "exchange algorithm CALG_ECDH_EPHEM with strength 256 bits");
}

TEST(ExchangeNames, RsaKeyTransportCbcSha256) {
  const SSL_CIPHER* c = must_find("AES128-SHA256");
  ASSERT_NE(c, nullptr);
  ExchangeCipherNames n = exchange_cipher_names(c, 2048);
  EXPECT_EQ(n.bulk, "CALG_AES_128");
  EXPECT_EQ(n.bulk_bits, 128);
  EXPECT_EQ(n.mac, "CALG_SHA_256");
  EXPECT_EQ(n.mac_bits, 256);
  EXPECT_EQ(n.kx, "CALG_RSA_KEYX");
  EXPECT_EQ(n.kx_bits, 2048);
}

TEST(ExchangeNames, Aes256GcmUsesSha384Prf) {
  const SSL_CIPHER* c = must_find("AES256-GCM-SHA384");
  ASSERT_NE(c, nullptr);
  ExchangeCipherNames n = exchange_cipher_names(c, 2048);
  EXPECT_EQ(n.bulk, "CALG_AES_256");
  EXPECT_EQ(n.mac, "CALG_SHA_384");
  EXPECT_EQ(n.mac_bits, 0);
  EXPECT_EQ(n.kx, "CALG_RSA_KEYX");
}

TEST(ExchangeNames, Tls13Suites) {
  const SSL_CIPHER* aes = must_find("TLS_AES_256_GCM_SHA384");
  ASSERT_NE(aes, nullptr);
  ExchangeCipherNames n = exchange_cipher_names(aes, 256);
  EXPECT_EQ(n.bulk, "CALG_AES_256");
  EXPECT_EQ(n.bulk_bits, 256);
  EXPECT_EQ(n.mac, "CALG_SHA_384");
  EXPECT_EQ(n.mac_bits, 0);
  EXPECT_EQ(n.kx, "CALG_ECDH_EPHEM");

  const SSL_CIPHER* chacha = must_find("TLS_CHACHA20_POLY1305_SHA256");
  ASSERT_NE(chacha, nullptr);
  n = exchange_cipher_names(chacha, 256);
  EXPECT_EQ(n.bulk, "CALG_CHACHA20_POLY1305");
  EXPECT_EQ(n.bulk_bits, 256);
  EXPECT_EQ(n.mac, "CALG_SHA_256");
  EXPECT_EQ(n.mac_bits, 0);
  EXPECT_EQ(n.kx, "CALG_ECDH_EPHEM");
}

TEST(ExchangeNames, DheSuite) {
  const SSL_CIPHER* c = must_find("DHE-RSA-AES128-SHA");
  ASSERT_NE(c, nullptr);
  ExchangeCipherNames n = exchange_cipher_names(c, 2048);
  EXPECT_EQ(n.kx, "CALG_DH_EPHEM");
  EXPECT_EQ(n.mac, "CALG_SHA1");
}

TEST(ExchangeNames, TripleDesIfAvailable) {
  const SSL_CIPHER* c = table().find("DES-CBC3-SHA");
  if (c == nullptr) GTEST_SKIP() << "this OpenSSL build has no 3DES";
  ExchangeCipherNames n = exchange_cipher_names(c, 2048);
  EXPECT_EQ(n.bulk, "CALG_3DES");
  EXPECT_EQ(n.bulk_bits, 168);
  EXPECT_EQ(n.mac, "CALG_SHA1");
  EXPECT_EQ(n.kx, "CALG_RSA_KEYX");
}

TEST(ExchangeNames, UnmappedBulkFallsBackToUnknownWithOpenSslBits) {
  const SSL_CIPHER* c = table().find("ECDHE-RSA-CAMELLIA256-SHA384");
  if (c == nullptr) c = table().find("CAMELLIA256-SHA");
  if (c == nullptr) GTEST_SKIP() << "no Camellia suite in this build";
  ExchangeCipherNames n = exchange_cipher_names(c, 0);
  EXPECT_EQ(n.bulk, "CALG_UNKNOWN");
  EXPECT_EQ(n.bulk_bits, 256);
}

TEST(ExchangeNames, PskSuiteHasUnknownKx) {
  const SSL_CIPHER* c = table().find("PSK-AES128-CBC-SHA");
  if (c == nullptr) GTEST_SKIP() << "no PSK suite in this build";
  EXPECT_EQ(exchange_cipher_names(c, 0).kx, "CALG_UNKNOWN");
}

TEST(ExchangeNames, NullCipherDoesNotCrash) {
  ExchangeCipherNames n = exchange_cipher_names(nullptr, 0);
  EXPECT_EQ(n.bulk, "CALG_UNKNOWN");
  EXPECT_EQ(n.mac, "CALG_UNKNOWN");
  EXPECT_EQ(n.kx, "CALG_UNKNOWN");
  EXPECT_EQ(kx_strength_bits(nullptr), 0);
  EXPECT_EQ(negotiated_cipher_names(nullptr).kx, "CALG_UNKNOWN");
}

TEST(ExchangeNames, KxStrengthBeforeHandshakeIsZero) {
  CtxPtr ctx(SSL_CTX_new(TLS_method()));
  test_util::SslPtr ssl(SSL_new(ctx.get()));
  EXPECT_EQ(kx_strength_bits(ssl.get()), 0);
}

// Real handshakes: the strengths come from what OpenSSL actually negotiated.
class KxHandshake : public ::testing::Test {
 protected:
  static const test_util::Credentials& rsa() {
    static const test_util::Credentials c = test_util::make_self_signed("rsa:2048");
    return c;
  }
  static const test_util::Credentials& ec() {
    static const test_util::Credentials c = test_util::make_self_signed("ec");
    return c;
  }
};

TEST_F(KxHandshake, Tls12EcdheP384) {
  CtxPtr server = test_util::make_ctx(true, &rsa());
  CtxPtr client = test_util::make_ctx(false);
  SSL_CTX_set_max_proto_version(client.get(), TLS1_2_VERSION);
  ASSERT_EQ(SSL_CTX_set_cipher_list(client.get(), "ECDHE-RSA-AES128-GCM-SHA256"), 1);
  ASSERT_EQ(SSL_CTX_set1_groups_list(client.get(), "P-384"), 1);
  test_util::Connection c = test_util::handshake(client.get(), server.get());
  ASSERT_TRUE(c.client_ok && c.server_ok);
  EXPECT_EQ(kx_strength_bits(c.server.get()), 384);
  EXPECT_EQ(kx_strength_bits(c.client.get()), 384);
  EXPECT_EQ(exchange_success_sentence(Version::Tls1_2, true, negotiated_cipher_names(c.server.get())),
            "TLS protocol SP_PROT_TLS1_2_SERVER negotiation succeeded using bulk encryption algorithm "
            "CALG_AES_128 with strength 128 bits, MAC hash algorithm CALG_SHA_256 with strength 0 bits and key "
            "exchange algorithm CALG_ECDH_EPHEM with strength 384 bits");
}

TEST_F(KxHandshake, Tls13X25519Counts256) {
  CtxPtr server = test_util::make_ctx(true, &ec());
  CtxPtr client = test_util::make_ctx(false);
  ASSERT_EQ(SSL_CTX_set1_groups_list(client.get(), "X25519"), 1);
  test_util::Connection c = test_util::handshake(client.get(), server.get());
  ASSERT_TRUE(c.client_ok && c.server_ok);
  EXPECT_EQ(SSL_version(c.server.get()), TLS1_3_VERSION);
  EXPECT_EQ(kx_strength_bits(c.server.get()), 256);
  EXPECT_EQ(kx_strength_bits(c.client.get()), 256);
  EXPECT_EQ(negotiated_cipher_names(c.server.get()).kx, "CALG_ECDH_EPHEM");
}

TEST_F(KxHandshake, Tls13FfdheGroupIsDhEphem) {
  CtxPtr server = test_util::make_ctx(true, &ec());
  CtxPtr client = test_util::make_ctx(false);
  ASSERT_EQ(SSL_CTX_set1_groups_list(client.get(), "ffdhe2048"), 1);
  ASSERT_EQ(SSL_CTX_set1_groups_list(server.get(), "ffdhe2048"), 1);
  test_util::Connection c = test_util::handshake(client.get(), server.get());
  ASSERT_TRUE(c.client_ok && c.server_ok);
  EXPECT_EQ(kx_strength_bits(c.server.get()), 2048);
  ExchangeCipherNames n = negotiated_cipher_names(c.server.get());
  EXPECT_EQ(n.kx, "CALG_DH_EPHEM");
  EXPECT_EQ(n.kx_bits, 2048);
}

TEST_F(KxHandshake, RsaKeyTransportUsesCertificateBitsOnBothSides) {
  CtxPtr server = test_util::make_ctx(true, &rsa());
  CtxPtr client = test_util::make_ctx(false);
  SSL_CTX_set_max_proto_version(client.get(), TLS1_2_VERSION);
  ASSERT_EQ(SSL_CTX_set_cipher_list(client.get(), "AES256-GCM-SHA384"), 1);
  test_util::Connection c = test_util::handshake(client.get(), server.get());
  ASSERT_TRUE(c.client_ok && c.server_ok);
  EXPECT_EQ(kx_strength_bits(c.server.get()), 2048);
  EXPECT_EQ(kx_strength_bits(c.client.get()), 2048);
  EXPECT_EQ(negotiated_cipher_names(c.client.get()).kx, "CALG_RSA_KEYX");
}

TEST_F(KxHandshake, Tls12DheClientSeesPrimeSize) {
  CtxPtr server = test_util::make_ctx(true, &rsa());
  SSL_CTX_set_dh_auto(server.get(), 1);
  CtxPtr client = test_util::make_ctx(false);
  SSL_CTX_set_max_proto_version(client.get(), TLS1_2_VERSION);
  ASSERT_EQ(SSL_CTX_set_cipher_list(client.get(), "DHE-RSA-AES128-GCM-SHA256"), 1);
  test_util::Connection c = test_util::handshake(client.get(), server.get());
  ASSERT_TRUE(c.client_ok && c.server_ok);
  // dh_auto sizes the group to the 2048-bit certificate key.
  EXPECT_EQ(kx_strength_bits(c.client.get()), 2048);
  EXPECT_EQ(negotiated_cipher_names(c.client.get()).kx, "CALG_DH_EPHEM");
}

}  // namespace
}  // namespace sluice::tls
