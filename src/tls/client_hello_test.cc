#include "tls/client_hello.h"

#include <gtest/gtest.h>

#include <vector>

#include "tls/handshake_test_util.h"

namespace sluice::tls {
namespace {

using V = std::vector<Version>;

ClientHelloInfo decode(uint16_t legacy, std::vector<uint8_t> ext) { return versions_from_hello(legacy, ext); }

TEST(VersionsFromHello, NoExtensionGivesLegacyVersion) {
  ClientHelloInfo i = decode(0x0301, {});
  EXPECT_TRUE(i.seen);
  EXPECT_FALSE(i.from_extension);
  EXPECT_EQ(i.offered, V{Version::Tls1_0});
  EXPECT_EQ(describe_offered(i), "TLS1_0 only");
}

TEST(VersionsFromHello, ModernClientHighestFirst) {
  ClientHelloInfo i = decode(0x0303, {0x04, 0x03, 0x04, 0x03, 0x03});
  EXPECT_TRUE(i.from_extension);
  EXPECT_EQ(i.offered, (V{Version::Tls1_3, Version::Tls1_2}));
  EXPECT_EQ(describe_offered(i), "TLS1_3, TLS1_2");
}

TEST(VersionsFromHello, SortsAndDeduplicates) {
  ClientHelloInfo i = decode(0x0303, {0x08, 0x03, 0x01, 0x03, 0x03, 0x03, 0x01, 0x03, 0x02});
  EXPECT_EQ(i.offered, (V{Version::Tls1_2, Version::Tls1_1, Version::Tls1_0}));
}

TEST(VersionsFromHello, SkipsGreaseAndUnknownValues) {
  // GREASE 0x1a1a and 0xfafa, a TLS 1.3 draft (0x7f1c), DTLS 1.2 (0xfefd).
  ClientHelloInfo i = decode(0x0303, {0x0c, 0x1a, 0x1a, 0x03, 0x04, 0x7f, 0x1c, 0xfe, 0xfd, 0xfa, 0xfa, 0x03, 0x03});
  EXPECT_TRUE(i.from_extension);
  EXPECT_EQ(i.offered, (V{Version::Tls1_3, Version::Tls1_2}));
}

TEST(VersionsFromHello, OnlyGreaseFallsBackToLegacy) {
  ClientHelloInfo i = decode(0x0303, {0x02, 0x2a, 0x2a});
  EXPECT_FALSE(i.from_extension);
  EXPECT_EQ(i.offered, V{Version::Tls1_2});
  EXPECT_EQ(describe_offered(i), "up to TLS1_2 (no supported_versions extension)");
}

TEST(VersionsFromHello, SingleVersionFromExtension) {
  ClientHelloInfo i = decode(0x0303, {0x02, 0x03, 0x04});
  EXPECT_EQ(i.offered, V{Version::Tls1_3});
  EXPECT_EQ(describe_offered(i), "TLS1_3 only");
}

TEST(VersionsFromHello, MalformedExtensionIsIgnored) {
  const std::vector<std::vector<uint8_t>> bad = {
      {0x04, 0x03, 0x04},              // length says 4, only 2 follow
      {0x02, 0x03, 0x04, 0x03, 0x03},  // trailing bytes after the list
      {0x03, 0x03, 0x04, 0x03},        // odd length
      {0x00},                          // empty list
      {0xff},                          // length with nothing behind it
  };
  for (const auto& body : bad) {
    ClientHelloInfo i = decode(0x0301, body);
    EXPECT_FALSE(i.from_extension);
    EXPECT_EQ(i.offered, V{Version::Tls1_0});
  }
}

TEST(VersionsFromHello, UnknownLegacyVersionGivesEmptyList) {
  ClientHelloInfo i = decode(0x0200, {});
  EXPECT_TRUE(i.offered.empty());
  EXPECT_EQ(describe_offered(i), "no known TLS version");
}

TEST(DescribeOffered, NotSeen) { EXPECT_EQ(describe_offered(ClientHelloInfo{}), "no ClientHello received"); }

TEST(DescribeOffered, LegacyTls11) {
  EXPECT_EQ(describe_offered(decode(0x0302, {})), "up to TLS1_1 (no supported_versions extension)");
}

TEST(DescribeOffered, SslThreeOnly) { EXPECT_EQ(describe_offered(decode(0x0300, {})), "SSL3 only"); }

std::string sni(std::vector<uint8_t> body) { return sni_from_extension(body); }

TEST(SniFromExtension, HostName) {
  EXPECT_EQ(sni({0x00, 0x0a, 0x00, 0x00, 0x07, 'a', '.', 'b', '.', 'o', 'r', 'g'}), "a.b.org");
}

TEST(SniFromExtension, SkipsOtherNameTypes) {
  EXPECT_EQ(sni({0x00, 0x09, 0x05, 0x00, 0x01, 'x', 0x00, 0x00, 0x02, 'h', 'i'}), "hi");
}

TEST(SniFromExtension, RejectsMalformedAndUnprintable) {
  EXPECT_EQ(sni({}), "");
  EXPECT_EQ(sni({0x00}), "");
  EXPECT_EQ(sni({0x00, 0x09, 0x00, 0x00, 0x07, 'a', '.', 'b'}), "");     // list length too long
  EXPECT_EQ(sni({0x00, 0x06, 0x00, 0x00, 0x09, 'a', '.', 'b'}), "");     // name length too long
  EXPECT_EQ(sni({0x00, 0x06, 0x00, 0x00, 0x03, 'a', '\n', 'b'}), "");    // CR/LF injection
  EXPECT_EQ(sni({0x00, 0x06, 0x00, 0x00, 0x03, 'a', ',', 'b'}), "a,b");  // CSV quoting handles commas
  EXPECT_EQ(sni({0x00, 0x06, 0x00, 0x00, 0x03, 'a', 0x00, 'b'}), "");    // embedded NUL
}

TEST(ReadClientHello, NullIsNotSeen) { EXPECT_FALSE(read_client_hello(nullptr).seen); }

TEST(ReadClientHello, OutsideTheCallbackIsNotSeen) {
  test_util::CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  test_util::SslPtr ssl(SSL_new(ctx.get()));
  ClientHelloInfo info = read_client_hello(ssl.get());
  EXPECT_FALSE(info.seen);
  EXPECT_TRUE(info.offered.empty());
  EXPECT_EQ(describe_offered(info), "no ClientHello received");
}

// Real ClientHellos produced by OpenSSL, captured in the server's client hello callback.
struct Captured {
  ClientHelloInfo info;
  int calls = 0;
};

int capture(SSL* ssl, int* /*alert*/, void* arg) {
  auto* c = static_cast<Captured*>(arg);
  c->info = read_client_hello(ssl);
  ++c->calls;
  return SSL_CLIENT_HELLO_SUCCESS;
}

class ReadClientHelloHandshake : public ::testing::Test {
 protected:
  void SetUp() override {
    static const test_util::Credentials creds = test_util::make_self_signed("ec");
    server_ = test_util::make_ctx(true, &creds);
    SSL_CTX_set_min_proto_version(server_.get(), TLS1_2_VERSION);
    SSL_CTX_set_client_hello_cb(server_.get(), capture, &captured_);
  }
  test_util::CtxPtr server_;
  Captured captured_;
};

TEST_F(ReadClientHelloHandshake, Tls10OnlyClient) {
  test_util::CtxPtr client = test_util::make_ctx(false);
  SSL_CTX_set_max_proto_version(client.get(), TLS1_VERSION);
  SSL_CTX_set_cipher_list(client.get(), "DEFAULT:@SECLEVEL=0");
  test_util::Connection c = test_util::handshake(client.get(), server_.get());
  EXPECT_FALSE(c.server_ok);  // the server's minimum is TLS 1.2
  ASSERT_EQ(captured_.calls, 1);
  EXPECT_TRUE(captured_.info.seen);
  EXPECT_FALSE(captured_.info.from_extension);
  EXPECT_EQ(captured_.info.offered, V{Version::Tls1_0});
  EXPECT_EQ(describe_offered(captured_.info), "TLS1_0 only");
  EXPECT_EQ(captured_.info.sni, "");
}

TEST_F(ReadClientHelloHandshake, ModernClientWithSni) {
  // A client configured like sluice's default policy (the library's own default minimum
  // depends on the system openssl.cnf, so it is set explicitly).
  test_util::CtxPtr client(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_min_proto_version(client.get(), TLS1_2_VERSION);
  // SNI is per connection, so this test drives the first flight by hand.
  test_util::Connection c;
  c.client.reset(SSL_new(client.get()));
  SSL_set_tlsext_host_name(c.client.get(), "mx.example.org");
  c.server.reset(SSL_new(server_.get()));
  BIO *cb = nullptr, *sb = nullptr;
  BIO_new_bio_pair(&cb, 0, &sb, 0);
  SSL_set_bio(c.client.get(), cb, cb);
  SSL_set_bio(c.server.get(), sb, sb);
  SSL_connect(c.client.get());  // writes the ClientHello, then wants to read
  SSL_accept(c.server.get());   // reads it: the callback runs
  ASSERT_EQ(captured_.calls, 1);
  EXPECT_TRUE(captured_.info.from_extension);
  EXPECT_EQ(captured_.info.offered, (V{Version::Tls1_3, Version::Tls1_2}));
  EXPECT_EQ(describe_offered(captured_.info), "TLS1_3, TLS1_2");
  EXPECT_EQ(captured_.info.sni, "mx.example.org");
}

TEST_F(ReadClientHelloHandshake, Tls12MaxClientSendsNoExtension) {
  test_util::CtxPtr client = test_util::make_ctx(false);
  SSL_CTX_set_max_proto_version(client.get(), TLS1_2_VERSION);
  test_util::Connection c = test_util::handshake(client.get(), server_.get());
  EXPECT_TRUE(c.server_ok);
  ASSERT_EQ(captured_.calls, 1);
  EXPECT_FALSE(captured_.info.from_extension);
  EXPECT_EQ(describe_offered(captured_.info), "up to TLS1_2 (no supported_versions extension)");
}

}  // namespace
}  // namespace sluice::tls
