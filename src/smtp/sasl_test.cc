#include "smtp/sasl.h"

#include <gtest/gtest.h>

namespace sluice::smtp {
namespace {

TEST(Base64, EncodesTheRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(Base64, DecodesWhatItEncodes) {
  for (std::string text : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto decoded = base64_decode(base64_encode(text));
    ASSERT_TRUE(decoded) << text;
    EXPECT_EQ(*decoded, text);
  }
  EXPECT_EQ(base64_decode("//4A"), std::string("\xff\xfe\x00", 3));
}

TEST(Base64, RefusesWhatIsNotPaddedBase64) {
  EXPECT_FALSE(base64_decode("Zg"));        // unpadded
  EXPECT_FALSE(base64_decode("Zg=a"));      // a digit after padding
  EXPECT_FALSE(base64_decode("Z==="));      // padding where a digit must be
  EXPECT_FALSE(base64_decode("Zg==Zg=="));  // padding inside
  EXPECT_FALSE(base64_decode("Zm9 v"));     // whitespace
  EXPECT_FALSE(base64_decode("Zm9-"));      // URL-safe alphabet
}

TEST(SaslResponses, PlainIsNulUserNulPassword) {
  EXPECT_EQ(*base64_decode(plain_response("scanner", "s3cret")), std::string("\0scanner\0s3cret", 15));
  // RFC 4616 section 4's example, without the authorization identity.
  EXPECT_EQ(plain_response("tim", "tanstaaftanstaaf"), "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
}

TEST(SaslResponses, Xoauth2IsGooglesFormat) {
  // The example of Google's "OAuth 2.0 Mechanism" page.
  EXPECT_EQ(xoauth2_response("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"),
            "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRH"
            "RXVZMjl0Q2cBAQ==");
}

}  // namespace
}  // namespace sluice::smtp
