#include "tls/tlsa_match.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tls/handshake_test_util.h"

namespace sluice::tls {
namespace {

std::string certificate_der_text(X509* cert) {
  unsigned char* out = nullptr;
  int n = i2d_X509(cert, &out);
  std::string der(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return der;
}

/// The SubjectPublicKeyInfo's SHA2-256 taken from the key itself, not from the certificate: an
/// independent way to the value a "3 1 1" record carries.
std::vector<unsigned char> spki_sha256_of_key(EVP_PKEY* key) {
  unsigned char* out = nullptr;
  int n = i2d_PUBKEY(key, &out);
  std::vector<unsigned char> digest(32);
  unsigned int size = 0;
  EVP_Digest(out, static_cast<std::size_t>(n), digest.data(), &size, EVP_sha256(), nullptr);
  OPENSSL_free(out);
  return digest;
}

std::vector<unsigned char> certificate_sha256(X509* cert) {
  std::vector<unsigned char> digest(32);
  unsigned int size = 0;
  X509_digest(cert, EVP_sha256(), digest.data(), &size);
  return digest;
}

TEST(TlsaMatch, DaneEeMatchesTheLeafByKeyOrByCertificate) {
  auto leaf = test_util::make_self_signed("ec");
  std::vector<std::string> chain{certificate_der_text(leaf.cert.get())};
  EXPECT_EQ(tlsa_matching_depth({3, 1, 1, spki_sha256_of_key(leaf.key.get())}, chain), 0);
  EXPECT_EQ(tlsa_matching_depth({3, 0, 1, certificate_sha256(leaf.cert.get())}, chain), 0);
  std::vector<unsigned char> whole(chain[0].begin(), chain[0].end());
  EXPECT_EQ(tlsa_matching_depth({3, 0, 0, whole}, chain), 0);
  auto sha512 = tlsa_association({3, 1, 2, {}}, chain[0]);
  ASSERT_TRUE(sha512.ok());
  EXPECT_EQ(sha512->size(), 64u);
}

TEST(TlsaMatch, AnotherKeyDoesNotMatch) {
  auto leaf = test_util::make_self_signed("ec");
  auto other = test_util::make_self_signed("ec");
  std::vector<std::string> chain{certificate_der_text(leaf.cert.get())};
  EXPECT_EQ(tlsa_matching_depth({3, 1, 1, spki_sha256_of_key(other.key.get())}, chain), -1);
}

TEST(TlsaMatch, DaneTaMatchesOnlyAboveTheLeaf) {
  auto leaf = test_util::make_self_signed("ec");
  auto issuer = test_util::make_self_signed("ec");
  std::vector<std::string> chain{certificate_der_text(leaf.cert.get()), certificate_der_text(issuer.cert.get())};
  EXPECT_EQ(tlsa_matching_depth({2, 1, 1, spki_sha256_of_key(issuer.key.get())}, chain), 1);
  // A DANE-TA record naming the leaf itself is not a trust anchor above it.
  EXPECT_EQ(tlsa_matching_depth({2, 1, 1, spki_sha256_of_key(leaf.key.get())}, chain), -1);
  // And DANE-EE never looks past the leaf.
  EXPECT_EQ(tlsa_matching_depth({3, 1, 1, spki_sha256_of_key(issuer.key.get())}, chain), -1);
}

TEST(TlsaMatch, ParametersOutsideTheRfcAreErrors) {
  auto leaf = test_util::make_self_signed("ec");
  std::string der = certificate_der_text(leaf.cert.get());
  auto bad_selector = tlsa_association({3, 2, 1, {}}, der);
  ASSERT_FALSE(bad_selector.ok());
  EXPECT_EQ(bad_selector.error().message, "TLSA selector 2 is not 0 or 1");
  auto bad_matching = tlsa_association({3, 1, 7, {}}, der);
  ASSERT_FALSE(bad_matching.ok());
  EXPECT_EQ(bad_matching.error().message, "TLSA matching type 7 is not 0, 1 or 2");
  EXPECT_FALSE(tlsa_association({3, 1, 1, {}}, "not a certificate").ok());
}

}  // namespace
}  // namespace sluice::tls
