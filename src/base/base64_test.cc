#include "base/base64.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(Base64Standard, EncodesTheRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(Base64Standard, DecodesWhatItEncodes) {
  for (std::string text : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto decoded = base64_decode(base64_encode(text));
    ASSERT_TRUE(decoded) << text;
    EXPECT_EQ(*decoded, text);
  }
  EXPECT_EQ(base64_decode("//4A"), std::string("\xff\xfe\x00", 3));
}

TEST(Base64Standard, RefusesWhatIsNotPaddedBase64) {
  EXPECT_FALSE(base64_decode("Zg"));        // unpadded
  EXPECT_FALSE(base64_decode("Zg=a"));      // a digit after padding
  EXPECT_FALSE(base64_decode("Z==="));      // padding where a digit must be
  EXPECT_FALSE(base64_decode("Zg==Zg=="));  // padding inside
  EXPECT_FALSE(base64_decode("Zm9 v"));     // whitespace
  EXPECT_FALSE(base64_decode("Zm9-"));      // URL-safe alphabet
}

TEST(Base64Url, EncodesWithTheUrlAlphabetAndNoPadding) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("\xfb\xff\xbf"), "-_-_");  // "+/+/" in plain base64
}

TEST(Base64Url, DecodesWhatItEncodesAndRefusesOtherText) {
  const std::string bytes = std::string("\x00\x01\xfe\xff sluice", 11);
  EXPECT_EQ(base64url_decode(base64url_encode(bytes)), bytes);
  EXPECT_EQ(base64url_decode("Zm8="), "fo");
  EXPECT_EQ(base64url_decode("Zm+v"), std::nullopt);
  EXPECT_EQ(base64url_decode("Z"), std::nullopt);
}

}  // namespace
}  // namespace sluice
