#include "mta_sts/policy_file.h"

#include <gtest/gtest.h>

namespace sluice::mta_sts {
namespace {

Policy parsed(const std::string& text) {
  auto policy = parse_policy(text);
  EXPECT_TRUE(policy.ok()) << policy.error().message;
  return policy.ok() ? *policy : Policy{};
}

std::string policy_error_of(const std::string& text) {
  auto policy = parse_policy(text);
  EXPECT_FALSE(policy.ok()) << text;
  return policy.ok() ? "" : policy.error().message;
}

const std::string kGood = "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 86400\n";

TEST(MtaStsPolicyFile, ReadsTheRfcExample) {
  Policy p = parsed(kGood);
  EXPECT_EQ(p.mode, Mode::Enforce);
  EXPECT_EQ(p.mx, (std::vector<std::string>{"mail.example.com", "*.example.net"}));
  EXPECT_EQ(p.max_age, std::chrono::seconds(86400));
  EXPECT_EQ(p.text, kGood);
  EXPECT_TRUE(p.id.empty());
  EXPECT_TRUE(p.matches("a.example.net"));
}

TEST(MtaStsPolicyFile, CrlfAndLfLineEndsAlike) {
  const std::string crlf = "version: STSv1\r\nmode: testing\r\nmx: mx.example.org\r\nmax_age: 604800\r\n";
  Policy a = parsed(crlf);
  Policy b = parsed("version: STSv1\nmode: testing\nmx: mx.example.org\nmax_age: 604800");  // no final term
  EXPECT_EQ(a.mode, Mode::Testing);
  EXPECT_EQ(a.mx, b.mx);
  EXPECT_EQ(a.max_age, b.max_age);
  EXPECT_EQ(a.mx, std::vector<std::string>{"mx.example.org"});  // no '\r' kept
}

TEST(MtaStsPolicyFile, IgnoresUnknownKeysAndBlankLinesAndAllowsAnyOrder) {
  Policy p = parsed("max_age:1\n\nfuture_key: what ever\nmx:\tMX.Example.ORG  \nmode: none\nversion: STSv1\n\n");
  EXPECT_EQ(p.mode, Mode::None);
  EXPECT_EQ(p.max_age, std::chrono::seconds(1));
  EXPECT_EQ(p.mx, std::vector<std::string>{"mx.example.org"});
}

TEST(MtaStsPolicyFile, ModeNoneNeedsNoMx) {
  EXPECT_EQ(parsed("version: STSv1\nmode: none\nmax_age: 0\n").mode, Mode::None);
}

TEST(MtaStsPolicyFile, MaxAgeUpToAYear) {
  EXPECT_EQ(parsed("version: STSv1\nmode: testing\nmx: a.b\nmax_age: 31557600\n").max_age,
            std::chrono::seconds(31557600));
  EXPECT_EQ(policy_error_of("version: STSv1\nmode: testing\nmx: a.b\nmax_age: 31557601\n"),
            "line 4: max_age 31557601 is more than the RFC's maximum of 31557600");
}

TEST(MtaStsPolicyFile, RefusesBadPolicies) {
  const std::string mx = "mx: a.example\n";
  EXPECT_EQ(policy_error_of("mode: enforce\n" + mx + "max_age: 1\n"), "no \"version: STSv1\"");
  EXPECT_EQ(policy_error_of("version: STSv1\n" + mx + "max_age: 1\n"), "no mode");
  EXPECT_EQ(policy_error_of("version: STSv1\nmode: enforce\n" + mx), "no max_age");
  EXPECT_EQ(policy_error_of("version: STSv1\nmode: enforce\nmax_age: 1\n"), "no mx");
  EXPECT_EQ(policy_error_of("version: STSv1\nmode: testing\nmax_age: 1\n"), "no mx");
  EXPECT_EQ(policy_error_of("version: STSv2\n"), "line 1: version \"STSv2\" is not STSv1");
  EXPECT_EQ(policy_error_of("version: STSv1\nversion: STSv1\n"), "line 2: version given twice");
  EXPECT_EQ(policy_error_of("mode: Enforce\n"), "line 1: mode \"Enforce\" is not enforce, testing or none");
  EXPECT_EQ(policy_error_of("mode: enforce\nmode: testing\n"), "line 2: mode given twice");
  EXPECT_EQ(policy_error_of("max_age: -1\n"), "line 1: max_age \"-1\" is not a number of seconds");
  EXPECT_EQ(policy_error_of("max_age: 1d\n"), "line 1: max_age \"1d\" is not a number of seconds");
  EXPECT_EQ(policy_error_of("max_age: 12345678901\n"), "line 1: max_age \"12345678901\" is not a number of seconds");
  EXPECT_EQ(policy_error_of("max_age:\n"), "line 1: max_age \"\" is not a number of seconds");
  EXPECT_EQ(policy_error_of("max_age: 1\nmax_age: 2\n"), "line 2: max_age given twice");
  EXPECT_EQ(policy_error_of("mx: *\n"), "line 1: mx \"*\" is not a host name or *.domain");
  EXPECT_EQ(policy_error_of("mx: a.*.b\n"), "line 1: mx \"a.*.b\" is not a host name or *.domain");
  EXPECT_EQ(policy_error_of("mx: a..b\n"), "line 1: mx \"a..b\" is not a host name or *.domain");
  EXPECT_EQ(policy_error_of("mx: -a.b\n"), "line 1: mx \"-a.b\" is not a host name or *.domain");
  EXPECT_EQ(policy_error_of("mx: a_b.c\n"), "line 1: mx \"a_b.c\" is not a host name or *.domain");
  EXPECT_EQ(policy_error_of("mx:\n"), "line 1: mx \"\" is not a host name or *.domain");
  EXPECT_EQ(policy_error_of("version: STSv1\n<html>\n"), "line 2 is not \"key: value\": \"<html>\"");
  EXPECT_EQ(policy_error_of("Version: STSv1\nmode: none\nmax_age: 1\n"),
            "no \"version: STSv1\"");  // keys are case-sensitive
  EXPECT_EQ(policy_error_of("version : STSv1\nmode: none\nmax_age: 1\n"), "no \"version: STSv1\"");
  EXPECT_EQ(policy_error_of("mode: none\x1b[2J\n"), "line 1: mode \"none\\x1B[2J\" is not enforce, testing or none");
}

TEST(MtaStsPolicyFile, SizeLimit) {
  std::string big = kGood + "x: " + std::string(kMaxPolicySize - kGood.size() - 4, 'a') + "\n";
  ASSERT_EQ(big.size(), kMaxPolicySize);
  EXPECT_EQ(parsed(big).mode, Mode::Enforce);
  big += "\n";
  EXPECT_EQ(policy_error_of(big), "the policy is 65537 bytes, more than the limit of 65536");
}

TEST(MtaStsPolicyFile, ModeNames) {
  EXPECT_EQ(mode_name(Mode::Enforce), "enforce");
  EXPECT_EQ(mode_name(Mode::Testing), "testing");
  EXPECT_EQ(mode_name(Mode::None), "none");
}

}  // namespace
}  // namespace sluice::mta_sts
