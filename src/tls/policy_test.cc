#include "tls/policy.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <set>
#include <sstream>
#include <string>

#include "tls/handshake_test_util.h"

namespace sluice::tls {
namespace {

std::set<std::string> split(const std::string& list) {
  std::set<std::string> out;
  std::istringstream in(list);
  for (std::string name; std::getline(in, name, ':');) out.insert(name);
  return out;
}

/// A server context configured the way the policy says, as the TLS context code does.
test_util::CtxPtr context_for(const Policy& p) {
  test_util::CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  SSL_CTX_set_security_level(ctx.get(), p.security_level);
  EXPECT_EQ(SSL_CTX_set_min_proto_version(ctx.get(), wire_value(p.min_version)), 1);
  EXPECT_EQ(SSL_CTX_set_max_proto_version(ctx.get(), wire_value(p.max_version)), 1);
  EXPECT_EQ(SSL_CTX_set_cipher_list(ctx.get(), p.ciphers.c_str()), 1) << p.profile;
  EXPECT_EQ(SSL_CTX_set_ciphersuites(ctx.get(), p.ciphersuites.c_str()), 1) << p.profile;
  return ctx;
}

/// Suites the context would really offer in a TLS 1.2 handshake: after security-level
/// filtering, which SSL_CTX_get_ciphers does not apply.
std::set<std::string> usable_suites(SSL_CTX* ctx) {
  test_util::SslPtr ssl(SSL_new(ctx));
  SSL_set_max_proto_version(ssl.get(), TLS1_2_VERSION);
  std::set<std::string> out;
  STACK_OF(SSL_CIPHER)* list = SSL_get1_supported_ciphers(ssl.get());
  for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) out.insert(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(list, i)));
  sk_SSL_CIPHER_free(list);
  return out;
}

TEST(Policy, ExchangeOnlineListIsExactlyReferenceSectionFive) {
  EXPECT_STREQ(kExchangeOnlineCiphers,
               "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-SHA384:"
               "ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA:ECDHE-RSA-AES128-SHA:AES256-GCM-SHA384:"
               "AES128-GCM-SHA256");
  Policy p;
  p.ciphers = kExchangeOnlineCiphers;
  test_util::CtxPtr ctx = context_for(p);
  EXPECT_EQ(usable_suites(ctx.get()).size(), 8u);
}

TEST(Policy, DefaultProfile) {
  std::optional<Policy> p = named_policy("default");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->profile, "default");
  EXPECT_EQ(p->min_version, Version::Tls1_2);
  EXPECT_EQ(p->max_version, Version::Tls1_3);
  EXPECT_EQ(p->security_level, 2);
  EXPECT_FALSE(p->allows_legacy_versions());
  EXPECT_EQ(p->ciphersuites, "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256");
  EXPECT_EQ(p->ciphers.rfind("ECDHE-", 0), 0u);
  EXPECT_NE(p->ciphers.find("CHACHA20"), std::string::npos);
}

TEST(Policy, DefaultOffersEveryExchangeOnlineSuiteAtItsSecurityLevel) {
  Policy p = *named_policy("default");
  test_util::CtxPtr ctx = context_for(p);
  std::set<std::string> usable = usable_suites(ctx.get());
  for (const std::string& suite : split(kExchangeOnlineCiphers)) {
    EXPECT_TRUE(usable.count(suite)) << suite << " missing from the default policy";
    if (suite.rfind("ECDHE-RSA-", 0) == 0) {
      std::string twin = "ECDHE-ECDSA-" + suite.substr(10);
      EXPECT_TRUE(usable.count(twin)) << twin << " missing from the default policy";
    }
  }
  EXPECT_TRUE(usable.count("ECDHE-RSA-CHACHA20-POLY1305"));
  // Every name in the list resolved: OpenSSL silently drops unknown names from a list.
  EXPECT_EQ(usable.size(), split(p.ciphers).size());
}

TEST(Policy, ExchangeOnlineProfileIsTheListPlusEcdsaTwins) {
  Policy p = *named_policy("exchange-online");
  EXPECT_EQ(p.min_version, Version::Tls1_2);
  EXPECT_EQ(p.security_level, 2);
  test_util::CtxPtr ctx = context_for(p);
  std::set<std::string> usable = usable_suites(ctx.get());
  std::set<std::string> expected = split(kExchangeOnlineCiphers);
  for (const std::string& suite : split(kExchangeOnlineCiphers)) {
    if (suite.rfind("ECDHE-RSA-", 0) == 0) expected.insert("ECDHE-ECDSA-" + suite.substr(10));
  }
  EXPECT_EQ(usable, expected);
  EXPECT_EQ(usable.size(), 14u);
}

TEST(Policy, LegacyProfile) {
  Policy p = *named_policy("legacy");
  EXPECT_EQ(p.min_version, Version::Tls1_0);
  EXPECT_EQ(p.max_version, Version::Tls1_3);
  EXPECT_EQ(p.security_level, 0);
  EXPECT_EQ(p.ciphers, "DEFAULT:@SECLEVEL=0");
  EXPECT_TRUE(p.allows_legacy_versions());
  test_util::CtxPtr ctx = context_for(p);
  std::set<std::string> usable = usable_suites(ctx.get());
  EXPECT_TRUE(usable.count("ECDHE-RSA-AES256-SHA"));  // what a TLS 1.0 Exchange 2013 picks
}

TEST(Policy, LegacyProfileReallyAcceptsATls10Client) {
  static const test_util::Credentials creds = test_util::make_self_signed("rsa:2048");
  Policy p = *named_policy("legacy");
  test_util::CtxPtr server = context_for(p);
  SSL_CTX_use_certificate(server.get(), creds.cert.get());
  SSL_CTX_use_PrivateKey(server.get(), creds.key.get());
  test_util::CtxPtr client = test_util::make_ctx(false);
  SSL_CTX_set_max_proto_version(client.get(), TLS1_VERSION);
  SSL_CTX_set_cipher_list(client.get(), "DEFAULT:@SECLEVEL=0");
  test_util::Connection c = test_util::handshake(client.get(), server.get());
  ASSERT_TRUE(c.server_ok);
  EXPECT_EQ(SSL_version(c.server.get()), TLS1_VERSION);

  // ...while the default profile refuses the same client.
  test_util::CtxPtr strict = context_for(*named_policy("default"));
  SSL_CTX_use_certificate(strict.get(), creds.cert.get());
  SSL_CTX_use_PrivateKey(strict.get(), creds.key.get());
  test_util::Connection refused = test_util::handshake(client.get(), strict.get());
  EXPECT_FALSE(refused.server_ok);
}

TEST(Policy, AllowsLegacyVersions) {
  Policy p;
  EXPECT_FALSE(p.allows_legacy_versions());
  p.min_version = Version::Tls1_1;
  EXPECT_TRUE(p.allows_legacy_versions());
  p.min_version = Version::Tls1_3;
  EXPECT_FALSE(p.allows_legacy_versions());
  p.min_version = Version::Unknown;
  EXPECT_FALSE(p.allows_legacy_versions());
}

TEST(Policy, UnknownNames) {
  for (const char* name : {"", "Default", "exchange_online", "legacy ", "modern", "eo"}) {
    EXPECT_EQ(named_policy(name), std::nullopt) << name;
  }
}

}  // namespace
}  // namespace sluice::tls
