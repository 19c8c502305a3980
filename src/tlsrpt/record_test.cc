#include "tlsrpt/record.h"

#include <gtest/gtest.h>

namespace sluice::tlsrpt {
namespace {

TEST(TlsrptRecord, OneMailtoRua) {
  auto r = parse_record("v=TLSRPTv1; rua=mailto:tlsrpt@example.org");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->rua, std::vector<std::string>{"mailto:tlsrpt@example.org"});
}

TEST(TlsrptRecord, SeveralRuasBlanksTrailingSeparatorAndExtensions) {
  auto r = parse_record("v=TLSRPTv1 ;rua = mailto:a@example.org , https://reports.example.org/v1 ; ext=1;");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->rua, (std::vector<std::string>{"mailto:a@example.org", "https://reports.example.org/v1"}));
}

TEST(TlsrptRecord, BadRecordsSayWhy) {
  const std::pair<const char*, const char*> cases[] = {
      {"v=TLSRPTv2; rua=mailto:a@b", "no v=TLSRPTv1 at the start"},
      {"rua=mailto:a@b; v=TLSRPTv1", "no v=TLSRPTv1 at the start"},
      {"v=TLSRPTv1", "rua missing"},
      {"v=TLSRPTv1; rua=mailto:a@b; rua=mailto:c@d", "rua given twice"},
      {"v=TLSRPTv1; rua=ftp://example.org/x", "is neither mailto: nor https:"},
      {"v=TLSRPTv1; rua=http://example.org/x", "is neither mailto: nor https:"},
      {"v=TLSRPTv1; rua=mailto:nobody", "has no address local@domain"},
      {"v=TLSRPTv1; rua=https:///path", "has no host"},
      {"v=TLSRPTv1; rua=mailto:a@b,,mailto:c@d", "empty URI"},
      {"v=TLSRPTv1; rua", "has no '='"},
  };
  for (const auto& [text, why] : cases) {
    auto r = parse_record(text);
    ASSERT_FALSE(r) << text;
    EXPECT_NE(r.error().message.find(why), std::string::npos) << text << ": " << r.error().message;
  }
}

TEST(TlsrptRecord, SelectIgnoresOtherTxtAndRefusesTwo) {
  auto one = select_record({"v=spf1 -all", "v=TLSRPTv1; rua=mailto:r@example.org"});
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(one->rua.front(), "mailto:r@example.org");
  EXPECT_FALSE(select_record({"v=spf1 -all"}));
  auto two = select_record({"v=TLSRPTv1; rua=mailto:a@b.org", "v=TLSRPTv1; rua=mailto:c@d.org"});
  ASSERT_FALSE(two);
  EXPECT_NE(two.error().message.find("2 TLSRPTv1 records"), std::string::npos);
}

TEST(TlsrptRecord, Name) { EXPECT_EQ(record_name("example.org"), "_smtp._tls.example.org"); }

}  // namespace
}  // namespace sluice::tlsrpt
