#include "schannel/report.h"

#include <gtest/gtest.h>

namespace sluice::schannel {
namespace {

const std::string kExport = std::string("REGEDIT4\n[") + std::string(kProtocolsKey) +
                            "\\TLS 1.2\\Client]\n\"DisabledByDefault\"=dword:0\n\"Enabled\"=dword:1\n[" +
                            std::string(kProtocolsKey) + "\\TLS 1.2\\Server]\n\"Enabled\"=dword:0\n";

TEST(Report, DescribeSetting) {
  ProtocolSetting s{Protocol::Tls12, Side::Client, State::Enabled, Source::Explicit, 1u, 0u};
  EXPECT_EQ(describe_setting(s, WindowsVersion::Server2016), "enabled (explicit)");
  s.source = Source::Default;
  EXPECT_EQ(describe_setting(s, WindowsVersion::Server2016), "enabled (Windows Server 2016 default)");
  s.source = Source::Mixed;
  s.disabled_by_default.reset();
  EXPECT_EQ(describe_setting(s, WindowsVersion::Server2016),
            "enabled (partly explicit: Enabled=1, DisabledByDefault from the Windows Server 2016 default)");
  ProtocolSetting t{Protocol::Tls13, Side::Server, State::NotSupported, Source::Explicit, 1u, std::nullopt};
  EXPECT_EQ(describe_setting(t, WindowsVersion::Server2019), "not supported on Windows Server 2019 (values ignored)");
}

TEST(Report, TextHasAlignedProtocolLinesProblemsAndVerdict) {
  Assessment a = assess(parse_export(kExport), WindowsVersion::Server2016);
  std::string text = render_text(a, {{"x.reg"}, false});
  EXPECT_NE(text.find("Schannel audit of x.reg, as Windows Server 2016\n"), std::string::npos);
  EXPECT_NE(text.find("  TLS 1.2  Client: enabled (explicit)                     Server: disabled (explicit)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  TLS 1.0  Client: enabled (Windows Server 2016 default)  Server: enabled (Windows Server "
                      "2016 default)\n"),
            std::string::npos);
  EXPECT_NE(text.find("ERROR    [tls12-server-not-enabled]"), std::string::npos);
  EXPECT_NE(text.find("Verdict: FAIL: this server cannot receive from Exchange Online over TLS 1.2 (TLS 1.2 Server is "
                      "disabled); it can send to it.\n"),
            std::string::npos);
  EXPECT_NE(text.find("Restart required"), std::string::npos);
  EXPECT_TRUE(render_text(a, {{"x.reg"}, true})
                  .starts_with("Schannel audit of x.reg, as Windows Server 2016 (assumed: pass --windows "
                               "2008r2|2012r2|2016|2019|2022 if it runs another)\n"));
}

TEST(Report, VerdictCoversEachCase) {
  Assessment a;
  a.windows = WindowsVersion::Server2019;
  a.protocols.push_back({Protocol::Tls12, Side::Client, State::DisabledByDefault, Source::Explicit, {}, 1u});
  a.protocols.push_back({Protocol::Tls12, Side::Server, State::Disabled, Source::Explicit, 0u, {}});
  EXPECT_EQ(verdict_text(a),
            "FAIL: this server can neither send to nor receive from Exchange Online over TLS 1.2 (TLS 1.2 Client is "
            "disabled by default; TLS 1.2 Server is disabled).");
  a.can_receive = true;
  EXPECT_EQ(verdict_text(a).substr(0, 56), "FAIL: this server cannot send to Exchange Online over TL");
  a.can_send = true;
  EXPECT_EQ(verdict_text(a), "PASS: this server can send to and receive from Exchange Online over TLS 1.2.");
}

TEST(Report, JsonFollowsTheDocumentedSchema) {
  Assessment a = assess(parse_export(kExport), WindowsVersion::Server2022);
  nlohmann::json j = render_json(a, {{"a.reg", "b.reg"}, true});
  EXPECT_EQ(j["files"], nlohmann::json({"a.reg", "b.reg"}));
  EXPECT_EQ(j["windows"], "2022");
  EXPECT_EQ(j["windows_assumed"], true);
  ASSERT_EQ(j["protocols"].size(), 8u);
  const auto& server12 = j["protocols"][5];
  EXPECT_EQ(server12["protocol"], "TLS 1.2");
  EXPECT_EQ(server12["side"], "server");
  EXPECT_EQ(server12["state"], "disabled");
  EXPECT_EQ(server12["source"], "explicit");
  EXPECT_EQ(server12["enabled"], 0);
  EXPECT_TRUE(server12["disabled_by_default"].is_null());
  EXPECT_EQ(j["protocols"][6]["state"], "enabled");  // TLS 1.3 Client on 2022
  ASSERT_EQ(j["dotnet"].size(), 4u);
  EXPECT_EQ(j["dotnet"][1]["wow6432node"], true);
  EXPECT_EQ(j["dotnet"][1]["inherits_os_defaults"], false);
  EXPECT_EQ(j["problems"][0]["id"], "tls12-server-not-enabled");
  EXPECT_EQ(j["problems"][0]["blocks_exchange_online"], true);
  EXPECT_EQ(j["verdict"]["passes"], false);
  EXPECT_EQ(j["verdict"]["can_send_to_exchange_online"], true);
  EXPECT_EQ(j["verdict"]["can_receive_from_exchange_online"], false);
  EXPECT_EQ(j["verdict"]["restart_required_after_change"], true);
}

}  // namespace
}  // namespace sluice::schannel
