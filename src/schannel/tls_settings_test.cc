#include "schannel/tls_settings.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace sluice::schannel {
namespace {

/// A REGEDIT4 export with one key per (protocol, side) entry: "TLS 1.2\\Client" -> values text.
std::string export_of(std::initializer_list<std::pair<std::string, std::string>> keys) {
  std::string text = "REGEDIT4\n\n";
  for (const auto& [sub, values] : keys) {
    text += "[" + std::string(sub.starts_with("HKEY") ? "" : std::string(kProtocolsKey) + "\\") + sub + "]\n";
    text += values + "\n\n";
  }
  return text;
}

const std::string kOn = "\"DisabledByDefault\"=dword:00000000\n\"Enabled\"=dword:00000001";
const std::string kOff = "\"DisabledByDefault\"=dword:00000001\n\"Enabled\"=dword:00000000";

std::string dotnet_all_good() {
  std::string text;
  for (std::string node : {"", "Wow6432Node\\"})
    for (std::string v : {"v2.0.50727", "v4.0.30319"})
      text += "[HKEY_LOCAL_MACHINE\\SOFTWARE\\" + node + "Microsoft\\.NETFramework\\" + v +
              "]\n\"SystemDefaultTlsVersions\"=dword:00000001\n\"SchUseStrongCrypto\"=dword:00000001\n\n";
  return text;
}

Assessment assess_text(const std::string& text, WindowsVersion windows = WindowsVersion::Server2019) {
  return assess(parse_export(text), windows);
}

std::vector<std::string> ids(const Assessment& a) {
  std::vector<std::string> out;
  for (const auto& p : a.problems) out.push_back(p.id);
  return out;
}

bool has(const Assessment& a, std::string_view id) {
  auto v = ids(a);
  return std::find(v.begin(), v.end(), id) != v.end();
}

const Problem* find_problem(const Assessment& a, std::string_view id) {
  for (const auto& p : a.problems)
    if (p.id == id) return &p;
  return nullptr;
}

TEST(TlsSettings, ParsesWindowsVersions) {
  EXPECT_EQ(parse_windows_version("2012R2"), WindowsVersion::Server2012R2);
  EXPECT_EQ(parse_windows_version("2022"), WindowsVersion::Server2022);
  EXPECT_EQ(parse_windows_version("2008"), std::nullopt);
  EXPECT_EQ(parse_windows_version(""), std::nullopt);
  EXPECT_EQ(windows_name(WindowsVersion::Server2016), "Windows Server 2016");
}

TEST(TlsSettings, DwordText) {
  EXPECT_EQ(dword_text(0), "0");
  EXPECT_EQ(dword_text(1), "1");
  EXPECT_EQ(dword_text(0xffffffff), "0xffffffff");
  EXPECT_EQ(dword_text(16), "0x10");
}

TEST(TlsSettings, DocumentedDefaults) {
  for (auto w : {WindowsVersion::Server2012R2, WindowsVersion::Server2016, WindowsVersion::Server2019}) {
    EXPECT_FALSE(documented_default(w, Protocol::Tls13, Side::Client).supported);
    EXPECT_TRUE(documented_default(w, Protocol::Tls12, Side::Server).enabled);
    EXPECT_TRUE(documented_default(w, Protocol::Tls10, Side::Client).enabled);
  }
  EXPECT_TRUE(documented_default(WindowsVersion::Server2022, Protocol::Tls13, Side::Server).enabled);
}

TEST(TlsSettings, ExplicitFullyEnabledPasses) {
  Assessment a = assess_text(export_of({{"TLS 1.2\\Client", kOn}, {"TLS 1.2\\Server", kOn}}) + dotnet_all_good(),
                             WindowsVersion::Server2016);
  EXPECT_EQ(a.setting(Protocol::Tls12, Side::Client).state, State::Enabled);
  EXPECT_EQ(a.setting(Protocol::Tls12, Side::Client).source, Source::Explicit);
  EXPECT_EQ(a.setting(Protocol::Tls10, Side::Server).source, Source::Default);
  EXPECT_TRUE(a.passes());
  EXPECT_TRUE(a.can_send);
  EXPECT_TRUE(a.can_receive);
  EXPECT_EQ(ids(a), (std::vector<std::string>{"legacy-enabled"}));
  for (const auto& d : a.dotnet) EXPECT_TRUE(d.inherits_os_defaults()) << d.key;
}

TEST(TlsSettings, EnabledFfffffffCountsAsEnabled) {
  Assessment a =
      assess_text(export_of({{"TLS 1.2\\Client", "\"DisabledByDefault\"=dword:0\n\"Enabled\"=dword:ffffffff"},
                             {"TLS 1.2\\Server", "\"DisabledByDefault\"=dword:0\n\"Enabled\"=dword:ffffffff"}}));
  EXPECT_EQ(a.setting(Protocol::Tls12, Side::Server).state, State::Enabled);
  EXPECT_EQ(a.setting(Protocol::Tls12, Side::Server).enabled, 0xffffffffu);
  EXPECT_TRUE(a.passes());
}

TEST(TlsSettings, Tls12ClientDisabledBlocksSending) {
  Assessment a = assess_text(export_of({{"TLS 1.2\\Client", kOff}, {"TLS 1.2\\Server", kOn}}));
  EXPECT_EQ(a.setting(Protocol::Tls12, Side::Client).state, State::Disabled);
  EXPECT_FALSE(a.can_send);
  EXPECT_TRUE(a.can_receive);
  EXPECT_FALSE(a.passes());
  const Problem* p = find_problem(a, "tls12-client-not-enabled");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->severity, Severity::Error);
  EXPECT_NE(p->message.find("cannot send mail to Exchange Online"), std::string::npos);
  EXPECT_EQ(a.problems.front().id, "tls12-client-not-enabled");  // errors come first
  EXPECT_TRUE(has(a, "client-server-mismatch"));
}

TEST(TlsSettings, Tls12ServerDisabledByDefaultBlocksReceiving) {
  Assessment a = assess_text(
      export_of({{"TLS 1.2\\Client", kOn}, {"TLS 1.2\\Server", "\"DisabledByDefault\"=dword:1\n\"Enabled\"=dword:1"}}));
  EXPECT_EQ(a.setting(Protocol::Tls12, Side::Server).state, State::DisabledByDefault);
  EXPECT_FALSE(a.can_receive);
  EXPECT_TRUE(a.can_send);
  EXPECT_TRUE(has(a, "tls12-server-not-enabled"));
  EXPECT_FALSE(a.passes());
}

TEST(TlsSettings, EnabledZeroWinsWithoutDisabledByDefault) {
  Assessment a = assess_text(export_of({{"TLS 1.2\\Server", "\"Enabled\"=dword:0"}}));
  EXPECT_EQ(a.setting(Protocol::Tls12, Side::Server).state, State::Disabled);
  EXPECT_EQ(a.setting(Protocol::Tls12, Side::Server).source, Source::Explicit);
}

TEST(TlsSettings, DefaultOnlyTls12WarnsNotExplicit) {
  Assessment a = assess_text(export_of({{"TLS 1.0\\Client", kOff}, {"TLS 1.0\\Server", kOff}}));
  EXPECT_TRUE(a.passes());
  EXPECT_EQ(a.setting(Protocol::Tls12, Side::Client).source, Source::Default);
  EXPECT_TRUE(has(a, "tls12-client-not-explicit"));
  EXPECT_TRUE(has(a, "tls12-server-not-explicit"));
  EXPECT_EQ(find_problem(a, "tls12-client-not-explicit")->severity, Severity::Warning);
  EXPECT_TRUE(a.schannel_keys_present);
  EXPECT_FALSE(has(a, "no-schannel-keys"));
}

TEST(TlsSettings, OneValueExplicitIsMixed) {
  Assessment a = assess_text(export_of({{"TLS 1.2\\Client", "\"Enabled\"=dword:1"}, {"TLS 1.2\\Server", kOn}}));
  EXPECT_EQ(a.setting(Protocol::Tls12, Side::Client).state, State::Enabled);
  EXPECT_EQ(a.setting(Protocol::Tls12, Side::Client).source, Source::Mixed);
  EXPECT_TRUE(has(a, "tls12-client-not-explicit"));
  EXPECT_FALSE(has(a, "tls12-server-not-explicit"));
}

TEST(TlsSettings, ClientServerMismatchOnLegacyProtocol) {
  Assessment a =
      assess_text(export_of({{"TLS 1.2\\Client", kOn}, {"TLS 1.2\\Server", kOn}, {"TLS 1.1\\Server", kOff}}));
  const Problem* p = find_problem(a, "client-server-mismatch");
  ASSERT_NE(p, nullptr);
  EXPECT_NE(p->message.find("TLS 1.1"), std::string::npos);
  EXPECT_TRUE(a.passes());
}

TEST(TlsSettings, DotNetNotInheritingPerKey) {
  std::string text = export_of({{"TLS 1.2\\Client", kOn}, {"TLS 1.2\\Server", kOn}}) + dotnet_all_good() +
                     "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework\\v4.0.30319]\n"
                     "\"SchUseStrongCrypto\"=dword:0\n\"SystemDefaultTlsVersions\"=-\n";
  Assessment a = assess_text(text);
  auto all = ids(a);
  ASSERT_EQ(std::count(all.begin(), all.end(), "dotnet-not-inheriting"), 1);
  const Problem* p = find_problem(a, "dotnet-not-inheriting");
  EXPECT_NE(p->message.find("Wow6432Node\\Microsoft\\.NETFramework\\v4.0.30319"), std::string::npos);
  EXPECT_NE(p->message.find("SystemDefaultTlsVersions missing, SchUseStrongCrypto=0"), std::string::npos);
  EXPECT_TRUE(a.passes());  // .NET does not decide SMTP's TLS: a warning, not a blocker
}

TEST(TlsSettings, Tls13EnabledOn2022IsFlaggedForExchange) {
  Assessment a =
      assess_text(export_of({{"TLS 1.2\\Client", kOn}, {"TLS 1.2\\Server", kOn}}), WindowsVersion::Server2022);
  EXPECT_EQ(a.setting(Protocol::Tls13, Side::Client).state, State::Enabled);
  EXPECT_EQ(a.setting(Protocol::Tls13, Side::Client).source, Source::Default);
  EXPECT_TRUE(has(a, "tls13-enabled"));

  Assessment off = assess_text(
      export_of(
          {{"TLS 1.2\\Client", kOn}, {"TLS 1.2\\Server", kOn}, {"TLS 1.3\\Client", kOff}, {"TLS 1.3\\Server", kOff}}),
      WindowsVersion::Server2022);
  EXPECT_FALSE(has(off, "tls13-enabled"));
  EXPECT_EQ(off.setting(Protocol::Tls13, Side::Server).state, State::Disabled);
}

TEST(TlsSettings, Tls13OnOlderWindowsIsNotSupported) {
  Assessment a = assess_text(export_of({{"TLS 1.3\\Client", kOn}}), WindowsVersion::Server2019);
  EXPECT_EQ(a.setting(Protocol::Tls13, Side::Client).state, State::NotSupported);
  EXPECT_EQ(a.setting(Protocol::Tls13, Side::Client).source, Source::Explicit);
  EXPECT_TRUE(has(a, "tls13-unsupported-windows"));
  EXPECT_FALSE(has(a, "tls13-enabled"));
  EXPECT_FALSE(has(assess_text("REGEDIT4\n"), "tls13-unsupported-windows"));
}

TEST(TlsSettings, LegacyEnabledIsInfo) {
  Assessment a =
      assess_text(export_of({{"TLS 1.0\\Client", kOff}, {"TLS 1.0\\Server", kOff}, {"TLS 1.1\\Client", kOff}}));
  const Problem* p = find_problem(a, "legacy-enabled");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->severity, Severity::Info);
  EXPECT_TRUE(p->message.starts_with("still enabled: TLS 1.1 Server. ")) << p->message;
  Assessment none = assess_text(export_of(
      {{"TLS 1.0\\Client", kOff}, {"TLS 1.0\\Server", kOff}, {"TLS 1.1\\Client", kOff}, {"TLS 1.1\\Server", kOff}}));
  EXPECT_FALSE(has(none, "legacy-enabled"));
}

TEST(TlsSettings, WrongTypeValueIsIgnoredAndReported) {
  Assessment a = assess_text(export_of({{"TLS 1.2\\Client", "\"Enabled\"=\"0\"\n\"DisabledByDefault\"=dword:0"}}));
  EXPECT_EQ(a.setting(Protocol::Tls12, Side::Client).state, State::Enabled);
  EXPECT_EQ(a.setting(Protocol::Tls12, Side::Client).enabled, std::nullopt);
  const Problem* p = find_problem(a, "value-ignored");
  ASSERT_NE(p, nullptr);
  EXPECT_NE(p->message.find("REG_SZ \"0\" (line 4)"), std::string::npos);
  EXPECT_EQ(p->severity, Severity::Error);  // the value meant something, and Windows does not read it
  EXPECT_FALSE(a.passes());
}

TEST(TlsSettings, Windows2008R2LeavesTls12OffAndNeedsUpdates) {
  EXPECT_EQ(parse_windows_version("2008R2"), WindowsVersion::Server2008R2);
  EXPECT_EQ(windows_name(WindowsVersion::Server2008R2), "Windows Server 2008 R2");
  // Nothing in the export: TLS 1.0 on; TLS 1.1 and 1.2 there but off; no TLS 1.3.
  Assessment a = assess_text("REGEDIT4\n" + dotnet_all_good(), WindowsVersion::Server2008R2);
  EXPECT_EQ(a.setting(Protocol::Tls10, Side::Client).state, State::Enabled);
  EXPECT_EQ(a.setting(Protocol::Tls11, Side::Server).state, State::DisabledByDefault);
  EXPECT_EQ(a.setting(Protocol::Tls12, Side::Client).state, State::DisabledByDefault);
  EXPECT_EQ(a.setting(Protocol::Tls12, Side::Server).state, State::DisabledByDefault);
  EXPECT_EQ(a.setting(Protocol::Tls13, Side::Client).state, State::NotSupported);
  EXPECT_FALSE(a.passes());
  const Problem* client = find_problem(a, "tls12-client-not-enabled");
  ASSERT_NE(client, nullptr);
  EXPECT_NE(client->message.find("disabled by default (the Windows Server 2008 R2 default)"), std::string::npos)
      << client->message;
  // The registry is not all: the updates it cannot show are named, whatever the values say.
  const Problem* updates = find_problem(a, "updates-required");
  ASSERT_NE(updates, nullptr);
  EXPECT_EQ(updates->severity, Severity::Warning);
  for (std::string kb : {"Service Pack 1", "KB3140245", "KB3161949", "KB3154518", "KB3029667", "Update Rollup 9",
                         "DefaultSecureProtocols=0x00000a00"})
    EXPECT_NE(updates->message.find(kb), std::string::npos) << kb;

  Assessment fixed = assess_text(export_of({{"TLS 1.2\\Client", kOn}, {"TLS 1.2\\Server", kOn}}) + dotnet_all_good(),
                                 WindowsVersion::Server2008R2);
  EXPECT_TRUE(fixed.passes());
  EXPECT_TRUE(has(fixed, "updates-required"));
  // KB3140245's instructions set only DisabledByDefault=0: that is enough for Schannel.
  Assessment only_dbd = assess_text(export_of({{"TLS 1.2\\Client", "\"DisabledByDefault\"=dword:00000000"}}),
                                    WindowsVersion::Server2008R2);
  EXPECT_EQ(only_dbd.setting(Protocol::Tls12, Side::Client).state, State::Enabled);
  // Newer versions need no such list.
  EXPECT_FALSE(has(assess_text("REGEDIT4\n" + dotnet_all_good(), WindowsVersion::Server2012R2), "updates-required"));
}

TEST(TlsSettings, NoSchannelKeysIsInfo) {
  Assessment a = assess_text("REGEDIT4\n[HKLM\\SOFTWARE\\X]\n");
  EXPECT_FALSE(a.schannel_keys_present);
  EXPECT_TRUE(has(a, "no-schannel-keys"));
  EXPECT_TRUE(a.passes());
}

TEST(TlsSettings, DeletedKeyFallsBackToDefault) {
  Registry r;
  read_export(export_of({{"TLS 1.2\\Client", kOff}}), r);
  read_export("REGEDIT4\n[-" + std::string(kProtocolsKey) + "\\TLS 1.2]\n", r);
  Assessment a = assess(r, WindowsVersion::Server2016);
  EXPECT_EQ(a.setting(Protocol::Tls12, Side::Client).state, State::Enabled);
  EXPECT_EQ(a.setting(Protocol::Tls12, Side::Client).source, Source::Default);
}

}  // namespace
}  // namespace sluice::schannel
