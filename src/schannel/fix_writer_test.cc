#include "schannel/fix_writer.h"

#include <gtest/gtest.h>

#include "schannel/reg_file.h"
#include "schannel/tls_settings.h"

namespace sluice::schannel {
namespace {

std::string ascii_of_utf16le(std::string_view bytes) {
  std::string out;
  for (std::size_t i = 0; i + 1 < bytes.size(); i += 2) {
    EXPECT_EQ(bytes[i + 1], '\0');
    out += bytes[i];
  }
  return out;
}

TEST(FixWriter, KeysWithoutOptions) {
  auto keys = fix_keys({});
  ASSERT_EQ(keys.size(), 6u);  // TLS 1.2 Client/Server + 4 .NET keys
  EXPECT_EQ(keys[0].path, "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v2.0.50727");
  EXPECT_EQ(keys[3].path, "HKEY_LOCAL_MACHINE\\SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework\\v4.0.30319");
  EXPECT_EQ(keys[4].path, protocol_key(Protocol::Tls12, Side::Client));
  ASSERT_EQ(keys[4].values.size(), 2u);
  EXPECT_EQ(keys[4].values[0].name, "DisabledByDefault");
  EXPECT_EQ(keys[4].values[0].dword, 0u);
  EXPECT_EQ(keys[4].values[1].name, "Enabled");
  EXPECT_EQ(keys[4].values[1].dword, 1u);
}

TEST(FixWriter, DisableLegacyAndTls13AddKeys) {
  auto keys = fix_keys({.disable_legacy = true, .disable_tls13 = true});
  ASSERT_EQ(keys.size(), 12u);
  EXPECT_EQ(keys[4].path, protocol_key(Protocol::Tls10, Side::Client));
  EXPECT_EQ(keys[4].values[0].dword, 1u);  // DisabledByDefault
  EXPECT_EQ(keys[4].values[1].dword, 0u);  // Enabled
  EXPECT_EQ(keys[11].path, protocol_key(Protocol::Tls13, Side::Server));
}

TEST(FixWriter, RegIsUtf16LeWithBomCrlfAndRegeditLayout) {
  std::string reg =
      write_reg({{"HKEY_LOCAL_MACHINE\\A", {{"One", 1}, {"Big", 0xABCDEF12}}}, {"HKEY_LOCAL_MACHINE\\B", {}}});
  ASSERT_GE(reg.size(), 2u);
  EXPECT_EQ(reg.substr(0, 2), "\xFF\xFE");
  EXPECT_EQ(ascii_of_utf16le(reg.substr(2)),
            "Windows Registry Editor Version 5.00\r\n\r\n"
            "[HKEY_LOCAL_MACHINE\\A]\r\n\"One\"=dword:00000001\r\n\"Big\"=dword:abcdef12\r\n\r\n"
            "[HKEY_LOCAL_MACHINE\\B]\r\n\r\n");
}

TEST(FixWriter, RegReadsBackToTheSameValues) {
  for (bool legacy : {false, true}) {
    auto keys = fix_keys({.disable_legacy = legacy});
    Registry r = parse_export(write_reg(keys));
    for (const auto& k : keys)
      for (const auto& v : k.values) {
        const RegValue* got = r.find_value(k.path, v.name);
        ASSERT_NE(got, nullptr) << k.path << "\\" << v.name;
        EXPECT_EQ(got->dword(), v.dword);
      }
    Assessment a = assess(r, WindowsVersion::Server2019);
    EXPECT_TRUE(a.passes());
    EXPECT_EQ(a.setting(Protocol::Tls10, Side::Client).state, legacy ? State::Disabled : State::Enabled);
    for (const auto& p : a.problems) EXPECT_NE(p.severity, Severity::Warning) << p.id << ": " << p.message;
  }
}

TEST(FixWriter, Ps1SetsEveryValueAndEndsWithRestart) {
  auto keys = fix_keys({.disable_legacy = true});
  std::string ps = write_ps1(keys);
  EXPECT_NE(ps.find("New-Item -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\"
                    "Protocols\\TLS 1.2\\Server' -Force | Out-Null\r\n"),
            std::string::npos);
  EXPECT_NE(ps.find("New-ItemProperty -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\"
                    "Protocols\\TLS 1.0\\Client' -Name 'Enabled' -Value 0 -PropertyType DWord -Force | Out-Null\r\n"),
            std::string::npos);
  std::size_t count = 0;
  for (std::size_t pos = 0; (pos = ps.find("New-ItemProperty", pos)) != std::string::npos; ++pos) ++count;
  EXPECT_EQ(count, 20u);  // 10 keys, 2 values each
  EXPECT_EQ(ps.find('\n'), ps.find("\r\n") + 1);
  EXPECT_NE(ps.rfind("Restart Windows"), std::string::npos);
  EXPECT_GT(ps.rfind("Restart Windows"), ps.rfind("New-ItemProperty"));
  EXPECT_TRUE(ps.ends_with("\r\n"));
}

}  // namespace
}  // namespace sluice::schannel
