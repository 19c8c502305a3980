#include "outbound/jwt.h"

#include <gtest/gtest.h>

#include "base/base64.h"

namespace sluice::outbound {
namespace {

TEST(DecodeJwt, ReadsHeaderAndClaimsOfACompactToken) {
  const std::string token = base64url_encode(R"({"alg":"RS256","typ":"JWT"})") + "." +
                            base64url_encode(R"({"aud":"https://outlook.office365.com","roles":["SMTP.SendAsApp"]})") +
                            ".c2lnbmF0dXJl";
  auto jwt = decode_jwt(token);
  ASSERT_TRUE(jwt);
  EXPECT_EQ(jwt->header["alg"], "RS256");
  EXPECT_EQ(jwt->claims["roles"][0], "SMTP.SendAsApp");
  EXPECT_FALSE(decode_jwt("opaque-token-value"));
  EXPECT_FALSE(decode_jwt("a.b"));
  EXPECT_FALSE(decode_jwt(token + ".extra"));
  EXPECT_FALSE(decode_jwt(base64url_encode("[1]") + "." + base64url_encode("{}") + ".x"));
}

}  // namespace
}  // namespace sluice::outbound
