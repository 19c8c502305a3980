#include "probe/server_flight.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "tls/handshake_test_util.h"

namespace sluice::probe {
namespace {

using namespace sluice::tls::test_util;

KeyExchangeKind kind_by_openssl(std::uint16_t id) {
  static CtxPtr ctx = make_ctx(false);
  static SslPtr ssl(SSL_new(ctx.get()));
  const unsigned char bytes[2] = {static_cast<unsigned char>(id >> 8), static_cast<unsigned char>(id & 0xff)};
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl.get(), bytes);
  if (!cipher) return KeyExchangeKind::Other;
  int kx = SSL_CIPHER_get_kx_nid(cipher);
  return kx == NID_kx_ecdhe ? KeyExchangeKind::Ecdhe : kx == NID_kx_dhe ? KeyExchangeKind::Dhe : KeyExchangeKind::Other;
}

std::string drain(BIO* bio) {
  std::string out;
  char buf[4096];
  int n;
  while ((n = BIO_read(bio, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  return out;
}

/// A real OpenSSL server's answer to a real OpenSSL ClientHello, and the server's own account.
struct Exchange {
  std::string flight;
  SslPtr server;
};

Exchange exchange(SSL_CTX* client_ctx, SSL_CTX* server_ctx) {
  SslPtr client(SSL_new(client_ctx));
  SSL_set_bio(client.get(), BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  SSL_set_connect_state(client.get());
  SSL_do_handshake(client.get());
  std::string hello = drain(SSL_get_wbio(client.get()));
  Exchange e;
  e.server.reset(SSL_new(server_ctx));
  BIO* in = BIO_new(BIO_s_mem());
  BIO_write(in, hello.data(), static_cast<int>(hello.size()));
  SSL_set_bio(e.server.get(), in, BIO_new(BIO_s_mem()));
  SSL_set_accept_state(e.server.get());
  SSL_do_handshake(e.server.get());
  e.flight = drain(SSL_get_wbio(e.server.get()));
  return e;
}

std::uint16_t server_cipher(SSL* server) {
  const SSL_CIPHER* c = SSL_get_pending_cipher(server);
  if (!c) c = SSL_get_current_cipher(server);
  return c ? SSL_CIPHER_get_protocol_id(c) : 0;
}

std::string der_of(X509* cert) {
  unsigned char* out = nullptr;
  int n = i2d_X509(cert, &out);
  std::string der(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return der;
}

class ServerFlightTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { rsa_ = new Credentials(make_self_signed("rsa:2048")); }
  static void TearDownTestSuite() { delete rsa_; }
  static Credentials* rsa_;
};
Credentials* ServerFlightTest::rsa_ = nullptr;

TEST_F(ServerFlightTest, Tls12EcdheNamesSuiteCurveAndCertificate) {
  auto client = make_ctx(false);
  SSL_CTX_set_max_proto_version(client.get(), TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(client.get(), "ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0");
  auto server = make_ctx(true, rsa_);
  auto e = exchange(client.get(), server.get());
  auto f = read_server_flight(e.flight, kind_by_openssl);
  ASSERT_EQ(f.status, ServerFlight::Status::Chosen) << f.problem;
  EXPECT_EQ(f.version, 0x0303);
  EXPECT_EQ(f.cipher, 0xC02F);
  EXPECT_EQ(f.cipher, server_cipher(e.server.get()));
  EXPECT_EQ(group_label(f.group), "X25519");
  ASSERT_EQ(f.certificates.size(), 1u);
  EXPECT_EQ(f.certificates[0], der_of(rsa_->cert.get()));
}

TEST_F(ServerFlightTest, DheGivesThePrimeSizeTheServerUses) {
  auto client = make_ctx(false);
  SSL_CTX_set_max_proto_version(client.get(), TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(client.get(), "DHE-RSA-AES256-SHA:@SECLEVEL=0");
  for (int bits : {1024, 2048, 3072}) {
    auto server = make_ctx(true, rsa_);
    SSL_CTX_set_cipher_list(server.get(), "ALL:@SECLEVEL=0");
    SSL_CTX_set_dh_auto(server.get(), 0);
    EVP_PKEY* params = nullptr;
    EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr);
    EVP_PKEY_paramgen_init(pctx);
    const char* group = bits == 1024 ? "dh_1024_160" : bits == 2048 ? "ffdhe2048" : "ffdhe3072";
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string("group", const_cast<char*>(group), 0), OSSL_PARAM_END};
    EVP_PKEY_CTX_set_params(pctx, p);
    EVP_PKEY_paramgen(pctx, &params);
    EVP_PKEY_CTX_free(pctx);
    ASSERT_NE(params, nullptr);
    ASSERT_EQ(SSL_CTX_set0_tmp_dh_pkey(server.get(), params), 1);
    auto e = exchange(client.get(), server.get());
    auto f = read_server_flight(e.flight, kind_by_openssl);
    ASSERT_EQ(f.status, ServerFlight::Status::Chosen) << bits << " " << f.problem;
    EXPECT_EQ(f.cipher, 0x0039);
    EXPECT_EQ(f.dh_bits, bits);
    EXPECT_EQ(f.group, 0);
  }
}

TEST_F(ServerFlightTest, RsaKeyExchangeEndsAtServerHelloDone) {
  auto client = make_ctx(false);
  SSL_CTX_set_min_proto_version(client.get(), TLS1_VERSION);
  SSL_CTX_set_max_proto_version(client.get(), TLS1_VERSION);
  SSL_CTX_set_cipher_list(client.get(), "AES128-SHA:@SECLEVEL=0");
  auto server = make_ctx(true, rsa_);
  SSL_CTX_set_cipher_list(server.get(), "ALL:@SECLEVEL=0");
  auto e = exchange(client.get(), server.get());
  auto f = read_server_flight(e.flight, kind_by_openssl);
  ASSERT_EQ(f.status, ServerFlight::Status::Chosen) << f.problem;
  EXPECT_EQ(f.version, 0x0301);
  EXPECT_EQ(f.cipher, 0x002F);
  EXPECT_EQ(f.group, 0);
  EXPECT_EQ(f.dh_bits, 0);
  EXPECT_EQ(f.certificates.size(), 1u);
}

TEST_F(ServerFlightTest, Tls13IsDecidedAtTheServerHello) {
  auto client = make_ctx(false);
  SSL_CTX_set_min_proto_version(client.get(), TLS1_3_VERSION);
  SSL_CTX_set_ciphersuites(client.get(), "TLS_CHACHA20_POLY1305_SHA256");
  auto server = make_ctx(true, rsa_);
  auto e = exchange(client.get(), server.get());
  auto f = read_server_flight(e.flight, kind_by_openssl);
  ASSERT_EQ(f.status, ServerFlight::Status::Chosen) << f.problem;
  EXPECT_EQ(f.version, 0x0304);
  EXPECT_EQ(f.cipher, 0x1303);
  EXPECT_FALSE(f.hello_retry);
  EXPECT_EQ(group_label(f.group), "X25519");
  EXPECT_TRUE(f.certificates.empty());  // encrypted in TLS 1.3
}

TEST_F(ServerFlightTest, HelloRetryRequestNamesTheGroupTheServerWants) {
  auto client = make_ctx(false);
  SSL_CTX_set_min_proto_version(client.get(), TLS1_3_VERSION);
  SSL_CTX_set1_groups_list(client.get(), "X25519:P-384");  // key share for X25519 only
  auto server = make_ctx(true, rsa_);
  SSL_CTX_set1_groups_list(server.get(), "P-384");
  auto e = exchange(client.get(), server.get());
  auto f = read_server_flight(e.flight, kind_by_openssl);
  ASSERT_EQ(f.status, ServerFlight::Status::Chosen) << f.problem;
  EXPECT_TRUE(f.hello_retry);
  EXPECT_EQ(f.version, 0x0304);
  EXPECT_EQ(group_label(f.group), "secp384r1");
  EXPECT_EQ(f.cipher, server_cipher(e.server.get()));
}

TEST_F(ServerFlightTest, RefusedVersionIsTheServersAlert) {
  auto client = make_ctx(false);
  SSL_CTX_set_max_proto_version(client.get(), TLS1_VERSION);
  SSL_CTX_set_cipher_list(client.get(), "ALL:@SECLEVEL=0");
  auto server = make_ctx(true, rsa_);
  SSL_CTX_set_min_proto_version(server.get(), TLS1_2_VERSION);
  auto e = exchange(client.get(), server.get());
  auto f = read_server_flight(e.flight, kind_by_openssl);
  ASSERT_EQ(f.status, ServerFlight::Status::Alert) << f.problem;
  EXPECT_EQ(f.alert, SSL_AD_PROTOCOL_VERSION);
}

TEST_F(ServerFlightTest, EveryShorterPrefixIsIncompleteAndRecordSizesDoNotMatter) {
  auto client = make_ctx(false);
  SSL_CTX_set_max_proto_version(client.get(), TLS1_2_VERSION);
  auto server = make_ctx(true, rsa_);
  auto e = exchange(client.get(), server.get());
  auto whole = read_server_flight(e.flight, kind_by_openssl);
  ASSERT_EQ(whole.status, ServerFlight::Status::Chosen);
  // Decided at the ServerKeyExchange: the ServerHelloDone record after it is not needed.
  std::size_t needed = 0;
  for (std::size_t n = 1; n <= e.flight.size(); ++n) {
    auto f = read_server_flight(std::string_view(e.flight).substr(0, n), kind_by_openssl);
    if (f.status == ServerFlight::Status::Chosen) {
      needed = n;
      break;
    }
    ASSERT_EQ(f.status, ServerFlight::Status::Incomplete) << n << " " << f.problem;
  }
  EXPECT_GT(needed, 0u);
  // The same handshake bytes cut into 7-byte records, as a server with tiny records would send.
  std::string payload;
  for (std::size_t pos = 0; pos + 5 <= e.flight.size();) {
    std::size_t len =
        (static_cast<std::uint8_t>(e.flight[pos + 3]) << 8) | static_cast<std::uint8_t>(e.flight[pos + 4]);
    payload += e.flight.substr(pos + 5, len);
    pos += 5 + len;
  }
  std::string small;
  for (std::size_t pos = 0; pos < payload.size(); pos += 7) {
    std::string part = payload.substr(pos, 7);
    small += std::string{22, 3, 3, 0, static_cast<char>(part.size())} + part;
  }
  auto f = read_server_flight(small, kind_by_openssl);
  ASSERT_EQ(f.status, ServerFlight::Status::Chosen) << f.problem;
  EXPECT_EQ(f.cipher, whole.cipher);
  EXPECT_EQ(f.group, whole.group);
  EXPECT_EQ(f.certificates, whole.certificates);
}

TEST(ServerFlight, WhatIsNotAServerHelloIsInvalid) {
  auto plain = read_server_flight("454 4.7.0 TLS not available due to local problem\r\n", kind_by_openssl);
  EXPECT_EQ(plain.status, ServerFlight::Status::Invalid);
  EXPECT_NE(plain.problem.find("not a TLS record"), std::string::npos);
  std::string huge{22, 3, 3, static_cast<char>(0xff), static_cast<char>(0xff)};
  EXPECT_EQ(read_server_flight(huge, kind_by_openssl).status, ServerFlight::Status::Invalid);
  // A Certificate where the ServerHello must be.
  std::string wrong_first{22, 3, 3, 0, 4, 11, 0, 0, 0};
  auto f = read_server_flight(wrong_first, kind_by_openssl);
  EXPECT_EQ(f.status, ServerFlight::Status::Invalid);
  EXPECT_NE(f.problem.find("before the ServerHello"), std::string::npos);
  // A ServerHello whose extensions overrun it.
  std::string body = std::string{3, 3} + std::string(32, 'r') + std::string{0, static_cast<char>(0xc0), 0x2f, 0, 0, 9};
  std::string message = std::string{2, 0, 0, static_cast<char>(body.size())} + body;
  std::string record = std::string{22, 3, 3, 0, static_cast<char>(message.size())} + message;
  EXPECT_EQ(read_server_flight(record, kind_by_openssl).status, ServerFlight::Status::Invalid);
}

TEST(ServerFlight, EndlessUndecidedStreamIsCutOffButADecisionStands) {
  std::string ccs{20, 3, 3, 0, 1, 1};
  std::string endless;
  while (endless.size() <= 256 * 1024) endless += ccs;
  auto f = read_server_flight(endless, kind_by_openssl);
  EXPECT_EQ(f.status, ServerFlight::Status::Invalid);
  EXPECT_NE(f.problem.find("256 KiB"), std::string::npos);
  std::string alert_then_noise = std::string{21, 3, 3, 0, 2, 2, 70} + endless;
  EXPECT_EQ(read_server_flight(alert_then_noise, kind_by_openssl).status, ServerFlight::Status::Alert);
}

TEST(ServerFlight, AlertRecordAndEndingAlert) {
  std::string alert{21, 3, 1, 0, 2, 2, 40};
  auto f = read_server_flight(alert, kind_by_openssl);
  EXPECT_EQ(f.status, ServerFlight::Status::Alert);
  EXPECT_EQ(f.alert, 40);
  EXPECT_EQ(handshake_failure_alert(0x0301), alert);
  EXPECT_EQ(handshake_failure_alert(0x0304), (std::string{21, 3, 3, 0, 2, 2, 40}));
  EXPECT_EQ(group_label(0x0101), "ffdhe3072");
  EXPECT_EQ(group_label(0x4242), "group 0x4242");
}

}  // namespace
}  // namespace sluice::probe
