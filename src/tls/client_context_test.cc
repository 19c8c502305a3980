#include "tls/client_context.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "tls/handshake_test_util.h"
#include "tls/policy.h"

namespace sluice::tls {
namespace {

using test_util::Credentials;

/// What a send connector hands to make_client_context.
struct ClientSettings {
  Policy policy;
  bool verify = false;
  std::filesystem::path ca_file;
};

ClientSettings settings_with(bool verify, const std::string& profile = "default") {
  return {*named_policy(profile), verify, {}};
}

std::shared_ptr<asio::ssl::context> make(const ClientSettings& s) {
  return make_client_context(s.policy, s.verify, s.ca_file);
}

/// Writes a certificate as PEM to a temp file, removed with the object.
struct PemFile {
  explicit PemFile(X509* cert) {
    char pattern[] = "/tmp/sluice-ca-XXXXXX";
    int fd = ::mkstemp(pattern);
    path = pattern;
    FILE* f = ::fdopen(fd, "w");
    PEM_write_X509(f, cert);
    std::fclose(f);
  }
  ~PemFile() { std::filesystem::remove(path); }
  std::filesystem::path path;
};

TEST(MakeClientContext, VersionsAndSecurityLevelFromPolicy) {
  auto c = settings_with(false);
  c.policy.max_version = Version::Tls1_2;
  auto ctx = make(c);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx->native_handle()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx->native_handle()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_security_level(ctx->native_handle()), 2);
  EXPECT_EQ(SSL_CTX_get_verify_mode(ctx->native_handle()), SSL_VERIFY_NONE);
}

TEST(MakeClientContext, LegacyPolicyAllowsTls10AtLevel0) {
  auto ctx = make(settings_with(false, "legacy"));
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx->native_handle()), TLS1_VERSION);
  EXPECT_EQ(SSL_CTX_get_security_level(ctx->native_handle()), 0);
}

TEST(MakeClientContext, VerifyModeChecksThePeer) {
  auto ctx = make(settings_with(true));
  EXPECT_EQ(SSL_CTX_get_verify_mode(ctx->native_handle()), SSL_VERIFY_PEER);
  auto required = make(settings_with(false));
  EXPECT_EQ(SSL_CTX_get_verify_mode(required->native_handle()), SSL_VERIFY_NONE);
}

TEST(MakeClientContext, BadCipherListNamesTheKey) {
  auto c = settings_with(false);
  c.policy.ciphers = "NOT-A-CIPHER";
  try {
    make(c);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("tls_policy.ciphers \"NOT-A-CIPHER\""), std::string::npos) << e.what();
  }
  c = settings_with(false);
  c.policy.ciphersuites = "TLS_NOPE";
  EXPECT_THROW(make(c), std::runtime_error);
}

TEST(MakeClientContext, MissingCaFileIsNamed) {
  auto c = settings_with(true);
  c.ca_file = "/nonexistent/ca.pem";
  try {
    make(c);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("ca_file /nonexistent/ca.pem"), std::string::npos) << e.what();
  }
}

TEST(SetClientPeer, SniForNamesOnly) {
  auto ctx = make(settings_with(false));
  test_util::SslPtr named(SSL_new(ctx->native_handle()));
  set_client_peer(named.get(), "mx.example.org.", false);
  ASSERT_NE(SSL_get_servername(named.get(), TLSEXT_NAMETYPE_host_name), nullptr);
  EXPECT_STREQ(SSL_get_servername(named.get(), TLSEXT_NAMETYPE_host_name), "mx.example.org");
  EXPECT_EQ(X509_VERIFY_PARAM_get0_host(SSL_get0_param(named.get()), 0), nullptr);  // no verify

  test_util::SslPtr literal(SSL_new(ctx->native_handle()));
  set_client_peer(literal.get(), "192.0.2.1", false);
  EXPECT_EQ(SSL_get_servername(literal.get(), TLSEXT_NAMETYPE_host_name), nullptr);
  set_client_peer(nullptr, "x", true);  // no crash
}

TEST(SetClientPeer, VerifySetsNameOrAddress) {
  auto ctx = make(settings_with(true));
  test_util::SslPtr named(SSL_new(ctx->native_handle()));
  set_client_peer(named.get(), "mx.example.org", true);
  EXPECT_STREQ(X509_VERIFY_PARAM_get0_host(SSL_get0_param(named.get()), 0), "mx.example.org");

  test_util::SslPtr literal(SSL_new(ctx->native_handle()));
  set_client_peer(literal.get(), "[IPv6:2001:db8::1]", true);
  char* ip = X509_VERIFY_PARAM_get1_ip_asc(SSL_get0_param(literal.get()));
  ASSERT_NE(ip, nullptr);
  EXPECT_STREQ(ip, "2001:DB8:0:0:0:0:0:1");
  OPENSSL_free(ip);
  EXPECT_EQ(SSL_get_servername(literal.get(), TLSEXT_NAMETYPE_host_name), nullptr);
}

TEST(IsIpLiteral, Forms) {
  EXPECT_TRUE(is_ip_literal("127.0.0.1"));
  EXPECT_TRUE(is_ip_literal("::1"));
  EXPECT_TRUE(is_ip_literal("[192.0.2.1]"));
  EXPECT_TRUE(is_ip_literal("[IPv6:::1]"));
  EXPECT_FALSE(is_ip_literal("mx.example.org"));
  EXPECT_FALSE(is_ip_literal(""));
  EXPECT_FALSE(is_ip_literal("[mx]"));
}

class ClientHandshake : public ::testing::Test {
 protected:
  Credentials creds = test_util::make_self_signed("ec");
  test_util::CtxPtr server = test_util::make_ctx(true, &creds);
};

TEST_F(ClientHandshake, VerifyWithCaFileAndMatchingName) {
  PemFile ca(creds.cert.get());
  auto c = settings_with(true);
  c.ca_file = ca.path;
  auto ctx = make(c);
  // handshake() creates the SSL objects itself, so the peer name goes on via the context's param.
  X509_VERIFY_PARAM_set1_host(SSL_CTX_get0_param(ctx->native_handle()), "test.invalid", 0);
  auto conn = test_util::handshake(ctx->native_handle(), server.get());
  EXPECT_TRUE(conn.client_ok);
  EXPECT_EQ(SSL_get_verify_result(conn.client.get()), X509_V_OK);
}

TEST_F(ClientHandshake, VerifyRejectsWrongName) {
  PemFile ca(creds.cert.get());
  auto c = settings_with(true);
  c.ca_file = ca.path;
  auto ctx = make(c);
  X509_VERIFY_PARAM_set1_host(SSL_CTX_get0_param(ctx->native_handle()), "other.invalid", 0);
  auto conn = test_util::handshake(ctx->native_handle(), server.get());
  EXPECT_FALSE(conn.client_ok);
  EXPECT_EQ(SSL_get_verify_result(conn.client.get()), X509_V_ERR_HOSTNAME_MISMATCH);
}

TEST_F(ClientHandshake, VerifyRejectsUntrustedSelfSigned) {
  auto ctx = make(settings_with(true));
  auto conn = test_util::handshake(ctx->native_handle(), server.get());
  EXPECT_FALSE(conn.client_ok);
  EXPECT_EQ(SSL_get_verify_result(conn.client.get()), X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
}

TEST_F(ClientHandshake, RequiredAcceptsSelfSigned) {
  auto ctx = make(settings_with(false));
  auto conn = test_util::handshake(ctx->native_handle(), server.get());
  EXPECT_TRUE(conn.client_ok);
  EXPECT_EQ(SSL_version(conn.client.get()), TLS1_3_VERSION);
}

TEST_F(ClientHandshake, LegacyTls10ClientAgainstModernServerFails) {
  auto c = settings_with(false, "legacy");
  c.policy.max_version = Version::Tls1_0;
  auto ctx = make(c);
  SSL_CTX_set_min_proto_version(server.get(), TLS1_2_VERSION);
  auto conn = test_util::handshake(ctx->native_handle(), server.get());
  EXPECT_FALSE(conn.client_ok);
  EXPECT_FALSE(conn.server_ok);
}

}  // namespace
}  // namespace sluice::tls
