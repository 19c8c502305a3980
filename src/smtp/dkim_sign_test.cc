#include "smtp/dkim_sign.h"

#include <gtest/gtest.h>

#include "base/base64.h"
#include "smtp/dkim_test_key.h"

namespace sluice::smtp {
namespace {

// RFC 6376 3.4.5's example, relaxed/relaxed.
TEST(DkimCanonical, RfcExampleHeaders) {
  EXPECT_EQ(dkim_relaxed_header("A", " X "), "a:X\r\n");
  EXPECT_EQ(dkim_relaxed_header("B ", " Y\t\r\n\tZ  "), "b:Y Z\r\n");
}

TEST(DkimCanonical, RfcExampleBody) { EXPECT_EQ(dkim_relaxed_body(" C \r\nD \t E\r\n\r\n\r\n"), " C\r\nD E\r\n"); }

TEST(DkimCanonical, BodyEdgeCases) {
  EXPECT_EQ(dkim_relaxed_body(""), "");
  EXPECT_EQ(dkim_relaxed_body("\r\n\r\n"), "");
  EXPECT_EQ(dkim_relaxed_body("no newline at end"), "no newline at end\r\n");
  EXPECT_EQ(dkim_relaxed_body("a\r\n\r\nb  \r\n"), "a\r\n\r\nb\r\n");  // inner empty lines stay
}

std::string dkim_test_sha256_base64(std::string_view data) {
  unsigned char digest[32];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return base64_encode(std::string_view(reinterpret_cast<char*>(digest), size));
}

bool dkim_test_rsa_verifies(EVP_PKEY* key, std::string_view data, std::string_view signature) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  return EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

/// A tag's value, whitespace taken out as verifiers do (RFC 6376 3.2).
std::string dkim_test_tag(const std::string& header, const std::string& name) {
  std::string compact;
  for (char c : header)
    if (!std::isspace(static_cast<unsigned char>(c))) compact += c;
  for (std::size_t at = compact.find(name + "="); at != std::string::npos; at = compact.find(name + "=", at + 1)) {
    if (at == 0 || (compact[at - 1] != ';' && compact[at - 1] != ':')) continue;
    const std::size_t start = at + name.size() + 1;
    return compact.substr(start, compact.find(';', start) - start);
  }
  return "";
}

TEST(DkimSigner, SignatureVerifiesWithThePublicKey) {
  const DkimTestKey key = dkim_test_key(2048);
  auto signer = DkimSigner::from_pem(key.private_pem, "example.net", "rpt");
  ASSERT_TRUE(signer) << signer.error().message;
  const std::string message =
      "From: <tlsrpt@example.net>\r\nTo:  <rua@example.org>\r\nSubject: Report\r\n Domain: example.org\r\n"
      "X-Unsigned: yes\r\nTLS-Report-Domain: example.org\r\n\r\nbody  line \r\n\r\n";
  const std::string signed_message = signer->sign(message, std::chrono::system_clock::from_time_t(1700000000));
  ASSERT_TRUE(signed_message.starts_with("DKIM-Signature: "));
  ASSERT_TRUE(signed_message.ends_with(message));
  std::string header = signed_message.substr(0, signed_message.size() - message.size() - 2);
  EXPECT_EQ(dkim_test_tag(header, "d"), "example.net");
  EXPECT_EQ(dkim_test_tag(header, "s"), "rpt");
  EXPECT_EQ(dkim_test_tag(header, "t"), "1700000000");
  EXPECT_EQ(dkim_test_tag(header, "h"), "From:To:Subject:TLS-Report-Domain");
  EXPECT_EQ(dkim_test_tag(header, "bh"), dkim_test_sha256_base64("body line\r\n"));
  // What a verifier hashes (RFC 6376 3.7), written out by hand: the signed fields, relaxed, then
  // the signature header with b= empty and without its CRLF.
  // The signature is the last tag, on a line of its own (base64 may itself end in "b=").
  const std::size_t b_at = header.rfind("\tb=") + 1;
  ASSERT_NE(b_at, 0u);
  const std::string b = header.substr(b_at + 2);
  header.resize(b_at + 2);
  std::string self = dkim_relaxed_header("DKIM-Signature", header.substr(header.find(':') + 1));
  self.resize(self.size() - 2);
  const std::string hashed =
      "from:<tlsrpt@example.net>\r\nto:<rua@example.org>\r\nsubject:Report Domain: example.org\r\n"
      "tls-report-domain:example.org\r\n" +
      self;
  const auto signature = base64_decode(b);
  ASSERT_TRUE(signature);
  EXPECT_TRUE(dkim_test_rsa_verifies(key.key.get(), hashed, *signature));
  // And the check can fail: a changed signed field does not verify.
  EXPECT_FALSE(dkim_test_rsa_verifies(key.key.get(), "from:<other@example.net>" + hashed.substr(hashed.find("\r\n")),
                                      *signature));
}

TEST(DkimSigner, RefusesWhatIsNotAUsableRsaKey) {
  auto not_pem = DkimSigner::from_pem("hello", "d", "s");
  ASSERT_FALSE(not_pem);
  EXPECT_EQ(not_pem.error().message, "is not a PEM private key");
  auto small = DkimSigner::from_pem(dkim_test_key(512).private_pem, "d", "s");
  ASSERT_FALSE(small);
  EXPECT_EQ(small.error().message, "is an RSA key of 512 bits; DKIM needs at least 1024");
  auto not_rsa = DkimSigner::from_pem(dkim_test_key(0, true).private_pem, "d", "s");
  ASSERT_FALSE(not_rsa);
  EXPECT_EQ(not_rsa.error().message, "is not an RSA key (DKIM here signs with rsa-sha256)");
}

TEST(DkimSigner, LoadNamesTheFile) {
  auto missing = DkimSigner::load("/nonexistent/dkim.pem", "d", "s");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "/nonexistent/dkim.pem cannot be read");
}

}  // namespace
}  // namespace sluice::smtp
