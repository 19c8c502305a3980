#include "smtp/sasl.h"

#include <gtest/gtest.h>

namespace sluice::smtp {
namespace {

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
