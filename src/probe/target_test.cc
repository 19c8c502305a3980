#include "probe/target.h"

#include <gtest/gtest.h>

namespace sluice::probe {
namespace {

Target parse(std::string_view text, bool implicit = false) {
  auto t = parse_target(text, implicit);
  EXPECT_TRUE(t) << text << ": " << (t ? "" : t.error().message);
  return t.value_or(Target{});
}

std::string error_of(std::string_view text) {
  auto t = parse_target(text, false);
  EXPECT_FALSE(t) << text;
  return t ? "" : t.error().message;
}

TEST(Target, HostAloneIsPort25WithStartTls) {
  auto t = parse("mx.example.org");
  EXPECT_EQ(t.host, "mx.example.org");
  EXPECT_EQ(t.port, 25);
  EXPECT_EQ(t.mode, TlsMode::StartTls);
  EXPECT_EQ(t.label(), "mx.example.org:25");
}

TEST(Target, PortsAndBrackets) {
  EXPECT_EQ(parse("mx.example.org:587").port, 587);
  auto t = parse("[192.0.2.1]:2525");
  EXPECT_EQ(t.host, "192.0.2.1");
  EXPECT_EQ(t.port, 2525);
  t = parse("[2001:db8::1]:25");
  EXPECT_EQ(t.host, "2001:db8::1");
  EXPECT_EQ(t.label(), "[2001:db8::1]:25");
  EXPECT_EQ(parse("[IPv6:2001:db8::2]").host, "2001:db8::2");
  EXPECT_EQ(parse("2001:db8::3").port, 25);  // bare IPv6: no port can be written
  EXPECT_EQ(parse("mx.example.org.").host, "mx.example.org");
}

TEST(Target, Port465IsImplicitTls) {
  EXPECT_EQ(parse("mx.example.org:465").mode, TlsMode::Implicit);
  EXPECT_EQ(parse("mx.example.org:25", true).mode, TlsMode::Implicit);
}

TEST(Target, BadTargetsAreExplained) {
  EXPECT_NE(error_of("mx.example.org:0").find("bad port '0'"), std::string::npos);
  EXPECT_NE(error_of("mx.example.org:70000").find("bad port"), std::string::npos);
  EXPECT_NE(error_of("mx.example.org:smtp").find("bad port 'smtp'"), std::string::npos);
  EXPECT_NE(error_of("[192.0.2.1").find("missing ']'"), std::string::npos);
  EXPECT_NE(error_of("[192.0.2.1]x").find("expected ':port'"), std::string::npos);
  EXPECT_NE(error_of("not a host").find("not a host name or IP address"), std::string::npos);
  EXPECT_NE(error_of("a..b").find("not a host name"), std::string::npos);
  EXPECT_NE(error_of(":25").find("no host"), std::string::npos);
}

TEST(Target, ListSkipsCommentsAndNamesBadLines) {
  std::vector<std::string> errors;
  auto list = parse_target_list("# servers\nmx1.example.org\n\n  mx2.example.org:587  # backup\nbad host\n",
                                "hosts.txt", false, errors);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].port, 587);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("hosts.txt:5: ", 0), 0u) << errors[0];
}

}  // namespace
}  // namespace sluice::probe
