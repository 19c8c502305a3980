// Client certificates over real OpenSSL handshakes (in memory): what a requiring server learns
// from each kind of client, what a client notices, and the name rules.
#include "tls/client_certificates.h"

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "tls/client_context.h"
#include "tls/handshake_test_util.h"
#include "tls/policy.h"

namespace sluice::tls {
namespace {

using test_util::Credentials;

/// A certificate for `cn` with these SAN DNS names, signed by `issuer` (self-signed when null);
/// `ca` makes it a CA (basicConstraints CA:TRUE).
Credentials make_certificate(const std::string& cn, const std::vector<std::string>& sans,
                             const Credentials* issuer = nullptr, bool ca = false) {
  static long serial = 1;
  Credentials c;
  c.key.reset(EVP_EC_gen("P-256"));
  c.cert.reset(X509_new());
  X509* x = c.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), ++serial);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert.get()) : X509_get_subject_name(x));
  X509_set_pubkey(x, c.key.get());
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer->cert.get() : x, x, nullptr, nullptr, 0);
  auto add = [&](int nid, const std::string& value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    ASSERT_NE(ext, nullptr) << value;
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  };
  add(NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (ca) add(NID_key_usage, "critical,keyCertSign,cRLSign");
  if (!sans.empty()) {
    std::string list;
    for (const auto& name : sans) list += (list.empty() ? "DNS:" : ",DNS:") + name;
    add(NID_subject_alt_name, list);
  }
  X509_sign(x, issuer ? issuer->key.get() : c.key.get(), EVP_sha256());
  return c;
}

class ClientCertificates : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / fmt::format("sluice-client-certs-{}", getpid());
    std::filesystem::create_directories(dir_);
    ca_ = make_certificate("Partner CA", {}, nullptr, true);
    other_ca_ = make_certificate("Other CA", {}, nullptr, true);
    write_pem(ca_, "ca");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  /// Writes <name>.crt and <name>.key; returns the certificate's path.
  std::filesystem::path write_pem(const Credentials& c, const std::string& name) {
    const auto crt = dir_ / (name + ".crt");
    FILE* f = std::fopen(crt.c_str(), "w");
    PEM_write_X509(f, c.cert.get());
    std::fclose(f);
    f = std::fopen((dir_ / (name + ".key")).c_str(), "w");
    PEM_write_PrivateKey(f, c.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    return crt;
  }

  /// A server that asks for certificates chaining to ca_, and a handshake with `client`.
  test_util::Connection connect(SSL_CTX* client, bool request = true) {
    server_creds_ = make_certificate("mx.sluice.test", {"mx.sluice.test"});
    server_ = test_util::make_ctx(true, &server_creds_);
    if (request) request_client_certificates(server_.get(), dir_ / "ca.crt");
    return test_util::handshake(client, server_.get());
  }

  /// A sluice client context presenting `c` (written as files, loaded as a send connector would).
  std::shared_ptr<asio::ssl::context> client_with(const Credentials& c, const std::string& name) {
    Policy policy = *named_policy("default");
    policy.certificate = write_pem(c, name);
    policy.key = dir_ / (name + ".key");
    return make_client_context(policy, false);
  }

  std::filesystem::path dir_;
  Credentials ca_, other_ca_, server_creds_;
  test_util::CtxPtr server_;
  const std::vector<std::string> allowed_{"mail.protection.outlook.com", "*.partner.example"};
};

TEST(CertificateNameMatches, ExactNamesIgnoreCaseAndAFinalDot) {
  EXPECT_TRUE(certificate_name_matches("mail.protection.outlook.com", "mail.protection.outlook.com"));
  EXPECT_TRUE(certificate_name_matches("mail.protection.outlook.com", "MAIL.Protection.Outlook.com."));
  EXPECT_FALSE(certificate_name_matches("mail.protection.outlook.com", "protection.outlook.com"));
  EXPECT_FALSE(certificate_name_matches("mail.protection.outlook.com", "x.mail.protection.outlook.com"));
  EXPECT_FALSE(certificate_name_matches("mail.protection.outlook.com", "mail.protection.outlook.com.evil.example"));
  EXPECT_FALSE(certificate_name_matches("mail.protection.outlook.com", ""));
  EXPECT_FALSE(certificate_name_matches("", "mail.protection.outlook.com"));
}

TEST(CertificateNameMatches, AWildcardIsExactlyOneLeftmostLabel) {
  EXPECT_TRUE(certificate_name_matches("*.partner.example", "mx1.partner.example"));
  EXPECT_TRUE(certificate_name_matches("*.Partner.example", "MX1.partner.EXAMPLE"));
  EXPECT_FALSE(certificate_name_matches("*.partner.example", "partner.example"));
  EXPECT_FALSE(certificate_name_matches("*.partner.example", "a.mx1.partner.example"));
  EXPECT_FALSE(certificate_name_matches("*.partner.example", "mx1.otherpartner.example"));
  EXPECT_FALSE(certificate_name_matches("*.partner.example", ".partner.example"));
  // The wildcard is the pattern's: a wildcard certificate matches only the same pattern.
  EXPECT_TRUE(certificate_name_matches("*.partner.example", "*.partner.example"));
  EXPECT_FALSE(certificate_name_matches("mx1.partner.example", "*.partner.example"));
  EXPECT_FALSE(certificate_name_matches("*.partner.example", "x*.partner.example"));
  // Only a whole "*." label is a wildcard.
  EXPECT_FALSE(certificate_name_matches("mx*.partner.example", "mx1.partner.example"));
  EXPECT_FALSE(certificate_name_matches("*", "example"));
}

TEST(CertificateIdentities, SanNamesElseTheCommonName) {
  const Credentials with_san = make_certificate("cn.partner.example", {"mx1.partner.example", "mx2.partner.example"});
  EXPECT_EQ(certificate_dns_names(with_san.cert.get()),
            (std::vector<std::string>{"mx1.partner.example", "mx2.partner.example"}));
  EXPECT_EQ(certificate_identities(with_san.cert.get()),
            (std::vector<std::string>{"mx1.partner.example", "mx2.partner.example"}));
  const Credentials cn_only = make_certificate("cn.partner.example", {});
  EXPECT_TRUE(certificate_dns_names(cn_only.cert.get()).empty());
  EXPECT_EQ(certificate_identities(cn_only.cert.get()), std::vector<std::string>{"cn.partner.example"});
}

TEST_F(ClientCertificates, TrustedCertificateWithAnAllowedSanIsAccepted) {
  const Credentials client = make_certificate("ignored-cn.example", {"mx1.partner.example"}, &ca_);
  auto context = client_with(client, "good");
  auto c = connect(context->native_handle());
  ASSERT_TRUE(c.client_ok && c.server_ok);
  EXPECT_TRUE(server_requested_certificate(c.client.get()));
  const ClientCertificateCheck check = check_client_certificate(c.server.get(), allowed_);
  EXPECT_TRUE(check.accepted) << check.reason;
  EXPECT_TRUE(check.presented);
  EXPECT_EQ(check.subject, "/CN=ignored-cn.example");
  EXPECT_EQ(check.dns_names, std::vector<std::string>{"mx1.partner.example"});
  EXPECT_TRUE(check.reason.empty());
  // The CN is not looked at when there are SAN names, even if it would match.
  const Credentials cn_matches = make_certificate("mail.protection.outlook.com", {"mx.elsewhere.example"}, &ca_);
  auto second = client_with(cn_matches, "cn");
  auto d = connect(second->native_handle());
  ASSERT_TRUE(d.server_ok);
  const ClientCertificateCheck refused = check_client_certificate(d.server.get(), allowed_);
  EXPECT_FALSE(refused.accepted);
  EXPECT_EQ(refused.reason, "the client certificate name mx.elsewhere.example is not allowed on this connector");
}

TEST_F(ClientCertificates, CommonNameCountsWithoutSan) {
  const Credentials client = make_certificate("mail.protection.outlook.com", {}, &ca_);
  auto context = client_with(client, "cn-only");
  auto c = connect(context->native_handle());
  ASSERT_TRUE(c.server_ok);
  EXPECT_TRUE(check_client_certificate(c.server.get(), allowed_).accepted);
}

TEST_F(ClientCertificates, NoCertificateIsRefusedAfterACompleteHandshake) {
  auto context = make_client_context(*named_policy("default"), false);
  auto c = connect(context->native_handle());
  ASSERT_TRUE(c.client_ok && c.server_ok);  // refused later, in SMTP, not by a TLS alert
  EXPECT_TRUE(server_requested_certificate(c.client.get()));
  const ClientCertificateCheck check = check_client_certificate(c.server.get(), allowed_);
  EXPECT_FALSE(check.accepted);
  EXPECT_FALSE(check.presented);
  EXPECT_EQ(check.reason, "no client certificate was presented");
}

TEST_F(ClientCertificates, CertificateFromAnotherCaIsNotTrusted) {
  const Credentials client = make_certificate("mx1.partner.example", {"mx1.partner.example"}, &other_ca_);
  auto context = client_with(client, "other");
  auto c = connect(context->native_handle());
  ASSERT_TRUE(c.client_ok && c.server_ok);
  const ClientCertificateCheck check = check_client_certificate(c.server.get(), allowed_);
  EXPECT_FALSE(check.accepted);
  EXPECT_TRUE(check.presented);
  EXPECT_EQ(check.subject, "/CN=mx1.partner.example");
  // OpenSSL's words for a leaf whose issuer is not among the trusted CAs.
  EXPECT_EQ(check.reason, "the client certificate is not trusted (unable to verify the first certificate)");
}

TEST_F(ClientCertificates, SelfSignedCertificateIsNotTrusted) {
  const Credentials client = make_certificate("mx1.partner.example", {"mx1.partner.example"});
  auto context = client_with(client, "self");
  auto c = connect(context->native_handle());
  ASSERT_TRUE(c.server_ok);
  const ClientCertificateCheck check = check_client_certificate(c.server.get(), allowed_);
  EXPECT_FALSE(check.accepted);
  EXPECT_EQ(check.reason, "the client certificate is not trusted (self-signed certificate)");
}

TEST_F(ClientCertificates, ServerThatDoesNotAskGetsNothing) {
  const Credentials client = make_certificate("mx1.partner.example", {"mx1.partner.example"}, &ca_);
  auto context = client_with(client, "unasked");
  auto c = connect(context->native_handle(), /*request=*/false);
  ASSERT_TRUE(c.client_ok && c.server_ok);
  EXPECT_FALSE(server_requested_certificate(c.client.get()));
  EXPECT_EQ(SSL_get0_peer_certificate(c.server.get()), nullptr);
}

TEST_F(ClientCertificates, KeyThatDoesNotMatchIsAStartError) {
  const Credentials a = make_certificate("a.partner.example", {}, &ca_);
  const Credentials b = make_certificate("b.partner.example", {}, &ca_);
  Policy policy = *named_policy("default");
  policy.certificate = write_pem(a, "a");
  write_pem(b, "b");
  policy.key = dir_ / "b.key";
  try {
    make_client_context(policy, false);
    FAIL() << "a mismatched key was accepted";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(fmt::format("key {} does not match certificate {}", policy.key.string(),
                                       policy.certificate.string())),
              std::string::npos)
        << message;
  }
  policy.key = dir_ / "a.crt";  // not a key at all
  EXPECT_THROW(make_client_context(policy, false), std::runtime_error);
}

TEST_F(ClientCertificates, CaFileWithoutCertificatesIsAStartError) {
  const auto empty = dir_ / "empty.pem";
  std::fclose(std::fopen(empty.c_str(), "w"));
  test_util::CtxPtr server = test_util::make_ctx(true);
  try {
    request_client_certificates(server.get(), empty);
    FAIL() << "an empty CA file was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("client_ca_file " + empty.string(), 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace sluice::tls
