#include "tls/failure_reason.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstring>
#include <string>

#include "tls/handshake_test_util.h"

namespace sluice::tls {
namespace {

unsigned long ssl_error(int reason) { return ERR_PACK(ERR_LIB_SSL, 0, reason); }

TEST(FailureReason, TimeoutWinsOverEverything) {
  EXPECT_EQ(handshake_failure_reason(ssl_error(SSL_R_NO_SHARED_CIPHER), true, true), "Timeout");
  EXPECT_EQ(handshake_failure_reason(0, false, true), "Timeout");
}

TEST(FailureReason, VersionErrors) {
  for (int r : {SSL_R_UNSUPPORTED_PROTOCOL, SSL_R_TLSV1_ALERT_PROTOCOL_VERSION, SSL_R_VERSION_TOO_LOW,
                SSL_R_UNKNOWN_PROTOCOL, SSL_R_NO_PROTOCOLS_AVAILABLE}) {
    EXPECT_EQ(handshake_failure_reason(ssl_error(r), false, false), "UnsupportedProtocol") << r;
    // The alert arrives and then the peer hangs up: the alert is the better explanation.
    EXPECT_EQ(handshake_failure_reason(ssl_error(r), true, false), "UnsupportedProtocol") << r;
  }
}

TEST(FailureReason, CipherErrors) {
  EXPECT_EQ(handshake_failure_reason(ssl_error(SSL_R_NO_SHARED_CIPHER), false, false), "NoCipherOverlap");
  EXPECT_EQ(handshake_failure_reason(ssl_error(SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE), false, false), "NoCipherOverlap");
  EXPECT_EQ(handshake_failure_reason(ssl_error(SSL_R_NO_SUITABLE_KEY_SHARE), false, false), "NoCipherOverlap");
}

TEST(FailureReason, CredentialAndCertificateErrors) {
  EXPECT_EQ(handshake_failure_reason(ssl_error(SSL_R_NO_CERTIFICATE_SET), false, false), "NoCredentials");
  EXPECT_EQ(handshake_failure_reason(ssl_error(SSL_R_CERTIFICATE_VERIFY_FAILED), false, false),
            "CertificateVerifyFailed");
  EXPECT_EQ(handshake_failure_reason(ssl_error(SSL_R_TLSV1_ALERT_UNKNOWN_CA), false, false), "PeerRejectedCertificate");
}

TEST(FailureReason, SocketErrors) {
  EXPECT_EQ(handshake_failure_reason(0, true, false), "SocketError");
  EXPECT_EQ(handshake_failure_reason(ssl_error(SSL_R_UNEXPECTED_EOF_WHILE_READING), false, false), "SocketError");
  EXPECT_EQ(handshake_failure_reason(ERR_PACK(ERR_LIB_SYS, 0, 104), false, false), "SocketError");  // ECONNRESET
  // An unclassified SSL error with the peer gone: the hang-up is all we can say.
  EXPECT_EQ(handshake_failure_reason(ssl_error(SSL_R_BAD_PACKET), true, false), "SocketError");
}

TEST(FailureReason, GarbageIsProtocolError) {
  EXPECT_EQ(handshake_failure_reason(ssl_error(SSL_R_WRONG_VERSION_NUMBER), false, false), "ProtocolError");
  EXPECT_EQ(handshake_failure_reason(ssl_error(SSL_R_HTTP_REQUEST), false, false), "ProtocolError");
  EXPECT_EQ(handshake_failure_reason(0, false, false), "ProtocolError");
  // A reason number that means something else in another library is not read as an SSL one.
  EXPECT_EQ(handshake_failure_reason(ERR_PACK(ERR_LIB_EVP, 0, SSL_R_NO_SHARED_CIPHER), false, false), "ProtocolError");
}

// The same classification fed by what OpenSSL really reports.
class FailureHandshake : public ::testing::Test {
 protected:
  static const test_util::Credentials& creds() {
    static const test_util::Credentials c = test_util::make_self_signed("rsa:2048");
    return c;
  }
  void SetUp() override { ERR_clear_error(); }
  /// Feeds raw bytes to a server and returns the classification of its failure.
  static std::string server_reason_for(SSL_CTX* server, const std::string& bytes) {
    ERR_clear_error();
    test_util::SslPtr ssl(SSL_new(server));
    BIO* in = BIO_new(BIO_s_mem());
    BIO_write(in, bytes.data(), static_cast<int>(bytes.size()));
    BIO_set_mem_eof_return(in, 0);  // then EOF, as a peer that hangs up
    SSL_set_bio(ssl.get(), in, BIO_new(BIO_s_mem()));
    int r = SSL_accept(ssl.get());
    EXPECT_NE(r, 1);
    return std::string(handshake_failure_reason(ERR_get_error(), false, false));
  }
};

TEST_F(FailureHandshake, OldClientBothSides) {
  test_util::CtxPtr server = test_util::make_ctx(true, &creds());
  SSL_CTX_set_min_proto_version(server.get(), TLS1_2_VERSION);
  test_util::CtxPtr client = test_util::make_ctx(false);
  SSL_CTX_set_max_proto_version(client.get(), TLS1_VERSION);
  SSL_CTX_set_cipher_list(client.get(), "DEFAULT:@SECLEVEL=0");
  test_util::SslPtr c(SSL_new(client.get())), s(SSL_new(server.get()));
  BIO *cb = nullptr, *sb = nullptr;
  BIO_new_bio_pair(&cb, 0, &sb, 0);
  SSL_set_bio(c.get(), cb, cb);
  SSL_set_bio(s.get(), sb, sb);
  SSL_connect(c.get());
  ASSERT_NE(SSL_accept(s.get()), 1);
  EXPECT_EQ(handshake_failure_reason(ERR_get_error(), false, false), "UnsupportedProtocol");
  ERR_clear_error();
  ASSERT_NE(SSL_connect(c.get()), 1);
  EXPECT_EQ(handshake_failure_reason(ERR_get_error(), false, false), "UnsupportedProtocol");
}

TEST_F(FailureHandshake, NoSharedCipherBothSides) {
  test_util::CtxPtr server = test_util::make_ctx(true, &creds());
  SSL_CTX_set_cipher_list(server.get(), "AES256-SHA");
  test_util::CtxPtr client = test_util::make_ctx(false);
  SSL_CTX_set_max_proto_version(client.get(), TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(client.get(), "ECDHE-RSA-AES128-GCM-SHA256");
  test_util::SslPtr c(SSL_new(client.get())), s(SSL_new(server.get()));
  BIO *cb = nullptr, *sb = nullptr;
  BIO_new_bio_pair(&cb, 0, &sb, 0);
  SSL_set_bio(c.get(), cb, cb);
  SSL_set_bio(s.get(), sb, sb);
  SSL_connect(c.get());
  ASSERT_NE(SSL_accept(s.get()), 1);
  EXPECT_EQ(handshake_failure_reason(ERR_get_error(), false, false), "NoCipherOverlap");
  ERR_clear_error();
  ASSERT_NE(SSL_connect(c.get()), 1);
  EXPECT_EQ(handshake_failure_reason(ERR_get_error(), false, false), "NoCipherOverlap");
}

TEST_F(FailureHandshake, PlaintextAfterStarttlsIsProtocolError) {
  test_util::CtxPtr server = test_util::make_ctx(true, &creds());
  EXPECT_EQ(server_reason_for(server.get(), "EHLO client.example\r\n"), "ProtocolError");
  EXPECT_EQ(server_reason_for(server.get(), "GET / HTTP/1.1\r\n\r\n"), "ProtocolError");
}

TEST_F(FailureHandshake, HangUpMidHelloIsSocketError) {
  test_util::CtxPtr server = test_util::make_ctx(true, &creds());
  // The first five bytes of a TLS record announcing 0x50 bytes, then EOF.
  EXPECT_EQ(server_reason_for(server.get(), std::string("\x16\x03\x01\x00\x50", 5)), "SocketError");
  EXPECT_EQ(server_reason_for(server.get(), ""), "SocketError");
}

}  // namespace
}  // namespace sluice::tls
