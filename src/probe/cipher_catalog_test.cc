#include "probe/cipher_catalog.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace sluice::probe {
namespace {

bool has(const std::vector<CipherSuite>& suites, std::string_view name) {
  return std::any_of(suites.begin(), suites.end(), [&](const CipherSuite& s) { return s.name == name; });
}

TEST(CipherCatalog, Tls13HasTheFiveRfc8446Suites) {
  const auto& suites = offerable_suites(tls::Version::Tls1_3);
  ASSERT_EQ(suites.size(), 5u);
  EXPECT_TRUE(has(suites, "TLS_AES_128_CCM_8_SHA256"));
  EXPECT_EQ(find_suite("TLS_AES_128_GCM_SHA256")->id, 0x1301);
}

TEST(CipherCatalog, Tls12IncludesLegacySuitesAtSecurityLevel0) {
  const auto& suites = offerable_suites(tls::Version::Tls1_2);
  EXPECT_TRUE(has(suites, "ECDHE-RSA-AES128-GCM-SHA256"));
  EXPECT_TRUE(has(suites, "AES128-SHA"));
  EXPECT_FALSE(has(suites, "TLS_AES_128_GCM_SHA256"));
  // Suites that need a pre-shared key cannot go out without one.
  EXPECT_FALSE(std::any_of(suites.begin(), suites.end(),
                           [](const CipherSuite& s) { return s.name.find("PSK") != std::string::npos; }));
}

TEST(CipherCatalog, Tls10HasNoTls12OnlySuites) {
  const auto& suites = offerable_suites(tls::Version::Tls1_0);
  EXPECT_TRUE(has(suites, "ECDHE-RSA-AES128-SHA"));
  EXPECT_FALSE(has(suites, "ECDHE-RSA-AES128-GCM-SHA256"));
}

TEST(CipherCatalog, NamesAndIds) {
  const CipherSuite* s = find_suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->name, "ECDHE-RSA-AES128-GCM-SHA256");
  EXPECT_EQ(s->id, 0xC02F);
  EXPECT_EQ(s->bits, 128);
  EXPECT_EQ(find_suite("NO-SUCH-SUITE"), nullptr);
  EXPECT_EQ(suite_list({s, find_suite("AES128-SHA")}), "ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA");
}

TEST(CipherCatalog, WeakSuites) {
  EXPECT_FALSE(is_weak(*find_suite("ECDHE-RSA-AES128-GCM-SHA256")));
  EXPECT_FALSE(is_weak(*find_suite("AES128-SHA")));
  for (auto name : {"DES-CBC3-SHA", "ADH-AES128-SHA", "AECDH-AES128-SHA", "NULL-SHA"}) {
    const CipherSuite* s = find_suite(name);
    if (!s) continue;  // not compiled into this OpenSSL
    EXPECT_TRUE(is_weak(*s)) << name;
  }
}

TEST(CipherCatalog, Office365ListIsInOurCatalog) {
  for (auto name : office365_suites()) EXPECT_NE(find_suite(name), nullptr) << name;
}

}  // namespace
}  // namespace sluice::probe
