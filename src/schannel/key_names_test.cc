#include "schannel/key_names.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::schannel {
namespace {

const std::string kSchannel = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL";
const std::string kEnabledLines = "\"DisabledByDefault\"=dword:00000000\n\"Enabled\"=dword:00000001\n";

std::vector<Problem> problems_of(const std::string& text) {
  std::vector<Problem> problems;
  check_key_names(parse_export(text), problems);
  return problems;
}

std::string all_messages(const std::vector<Problem>& problems) {
  std::string out;
  for (const auto& p : problems) out += p.id + ": " + p.message + " / " + p.fix + "\n";
  return out;
}

TEST(KeyNames, IntendedNameForwardsSeparatorsCaseAndTypos) {
  const std::vector<std::string_view> protocols = {"TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"};
  EXPECT_EQ(intended_name("TLS 1,2", protocols), "TLS 1.2");  // the machine-translated Norwegian article
  EXPECT_EQ(intended_name("TLS1.2", protocols), "TLS 1.2");
  EXPECT_EQ(intended_name("TLS 1.2 ", protocols), "TLS 1.2");
  EXPECT_EQ(intended_name("tls 1.2", protocols), "TLS 1.2");
  EXPECT_EQ(intended_name("TLS_1_1", protocols), "TLS 1.1");
  EXPECT_EQ(intended_name("SSL 3.0", protocols), std::nullopt);
  EXPECT_EQ(intended_name("Enable", {"Enabled", "DisabledByDefault"}), "Enabled");
  EXPECT_EQ(intended_name("DisableByDefault", {"Enabled", "DisabledByDefault"}), "DisabledByDefault");
  EXPECT_EQ(intended_name("Klient", {"Client", "Server"}), "Client");
  EXPECT_EQ(intended_name("Tjener", {"Client", "Server"}), std::nullopt);
  EXPECT_EQ(intended_name("SHA1", {"MD5", "SHA"}), std::nullopt);  // too short to guess
}

TEST(KeyNames, NorwegianCommaProtocolKeyIsAnErrorNamingTheKeyWindowsReads) {
  std::string text = "Windows Registry Editor Version 5.00\n\n[" + kSchannel + "\\Protocols\\TLS 1,2\\Client]\n" +
                     kEnabledLines + "\n[" + kSchannel + "\\Protocols\\TLS 1,2\\Server]\n" + kEnabledLines;
  auto problems = problems_of(text);
  ASSERT_EQ(problems.size(), 1u) << all_messages(problems);  // once for the protocol, not per side
  const Problem& p = problems[0];
  EXPECT_EQ(p.id, "unknown-key");
  EXPECT_EQ(p.severity, Severity::Error);
  EXPECT_EQ(p.message, "[" + kSchannel +
                           "\\Protocols\\TLS 1,2] (line 3) is not a key Schannel reads: it expects 'TLS 1.2', so "
                           "nothing under 'TLS 1,2' has any effect");
  EXPECT_NE(p.fix.find("[" + kSchannel + "\\Protocols\\TLS 1.2]"), std::string::npos) << p.fix;
  // And the assessment does not take those values for TLS 1.2's: on 2008 R2 it stays off.
  Assessment a = assess(parse_export(text), WindowsVersion::Server2008R2);
  EXPECT_EQ(a.setting(Protocol::Tls12, Side::Client).state, State::DisabledByDefault);
  EXPECT_FALSE(a.passes());
}

TEST(KeyNames, EachMisspellingOfTheProtocolKey) {
  for (std::string wrong : {"TLS1.2", "TLS 1.2 ", "TLS-1.2", "TLSv1.2"}) {
    auto problems = problems_of("REGEDIT4\n[" + kSchannel + "\\Protocols\\" + wrong + "\\Client]\n" + kEnabledLines);
    ASSERT_EQ(problems.size(), 1u) << wrong << "\n" << all_messages(problems);
    EXPECT_EQ(problems[0].id, "unknown-key");
    EXPECT_NE(problems[0].message.find("it expects 'TLS 1.2'"), std::string::npos) << problems[0].message;
  }
  // Case does not matter to Windows, so it does not matter here.
  EXPECT_TRUE(problems_of("REGEDIT4\n[" + kSchannel + "\\protocols\\tls 1.2\\client]\n" + kEnabledLines).empty());
  // A name nothing is close to is still not read: the message lists what is.
  auto far = problems_of("REGEDIT4\n[" + kSchannel + "\\Protocols\\QUIC\\Client]\n" + kEnabledLines);
  ASSERT_EQ(far.size(), 1u);
  EXPECT_NE(far[0].message.find("the protocol keys Schannel reads are 'TLS 1.0', "), std::string::npos)
      << far[0].message;
}

TEST(KeyNames, SideKeysAndValueNames) {
  auto side = problems_of("REGEDIT4\n[" + kSchannel + "\\Protocols\\TLS 1.2\\Klient]\n" + kEnabledLines);
  ASSERT_EQ(side.size(), 1u) << all_messages(side);
  EXPECT_NE(side[0].message.find("it expects 'Client'"), std::string::npos) << side[0].message;

  auto values = problems_of("REGEDIT4\n[" + kSchannel +
                            "\\Protocols\\TLS 1.2\\Server]\n\"Enable\"=dword:00000001\n"
                            "\"DisabledByDefault \"=dword:00000000\n\"Comment\"=\"mine\"\n");
  ASSERT_EQ(values.size(), 3u) << all_messages(values);
  std::string text = all_messages(values);
  EXPECT_NE(text.find("TLS 1.2\\Server\\\"Enable\" (line 3) is not a value Schannel reads: it reads \"Enabled\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\"DisabledByDefault \" (line 4) is not a value Schannel reads: it reads \"DisabledByDefault\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\"Comment\" (line 5) is not a value Schannel reads: it reads only 'Enabled' and "
                      "'DisabledByDefault' here"),
            std::string::npos)
      << text;
  for (const auto& p : values) EXPECT_EQ(p.severity, Severity::Error);

  auto misplaced = problems_of("REGEDIT4\n[" + kSchannel + "\\Protocols\\TLS 1.2]\n\"Enabled\"=dword:00000001\n");
  ASSERT_EQ(misplaced.size(), 1u);
  EXPECT_NE(misplaced[0].message.find("is not read there: Schannel reads them under"), std::string::npos);
}

TEST(KeyNames, ValuesOfTheWrongTypeAreErrors) {
  auto problems = problems_of("REGEDIT4\n[" + kSchannel +
                              "\\Protocols\\TLS 1.2\\Client]\n\"Enabled\"=\"1\"\n\"DisabledByDefault\"=hex:00\n[" +
                              kSchannel + "\\Ciphers\\RC4 128/128]\n\"Enabled\"=\"0\"\n");
  ASSERT_EQ(problems.size(), 3u) << all_messages(problems);
  for (const auto& p : problems) {
    EXPECT_EQ(p.id, "value-ignored");
    EXPECT_EQ(p.severity, Severity::Error);
  }
  EXPECT_NE(all_messages(problems).find("TLS 1.2\\Client\\Enabled is REG_SZ \"1\" (line 3), not a DWORD"),
            std::string::npos)
      << all_messages(problems);
  // hex(4): with four bytes is a DWORD written another way: fine.
  EXPECT_TRUE(problems_of("REGEDIT4\n[" + kSchannel + "\\Protocols\\TLS 1.2\\Client]\n\"Enabled\"=hex(4):01,00,00,00\n")
                  .empty());
}

TEST(KeyNames, CipherHashAndKeyExchangeKeys) {
  std::string good = "REGEDIT4\n";
  for (std::string k : {"Ciphers\\AES 128/128", "Ciphers\\Triple DES 168", "Ciphers\\RC4 40/128", "Hashes\\SHA256",
                        "KeyExchangeAlgorithms\\Diffie-Hellman", "KeyExchangeAlgorithms\\PKCS"})
    good += "[" + kSchannel + "\\" + k + "]\n\"Enabled\"=dword:00000000\n";
  good += "\"ServerMinKeyBitLength\"=dword:00000800\n";  // another value Schannel reads there
  EXPECT_TRUE(problems_of(good).empty()) << all_messages(problems_of(good));

  auto bad = problems_of("REGEDIT4\n[" + kSchannel + "\\Ciphers\\AES 128/128 ]\n\"Enabled\"=dword:0\n[" + kSchannel +
                         "\\Ciphers\\RC4 128/128]\n\"Enabeld\"=dword:0\n[" + kSchannel +
                         "\\Protocol\\TLS 1.0\\Server]\n\"Enabled\"=dword:0\n");
  ASSERT_EQ(bad.size(), 3u) << all_messages(bad);
  std::string text = all_messages(bad);
  EXPECT_NE(text.find("it expects 'AES 128/128'"), std::string::npos) << text;
  EXPECT_NE(text.find("it reads \"Enabled\""), std::string::npos) << text;
  EXPECT_NE(text.find("\\SCHANNEL\\Protocol] (line 6) is not a key Schannel reads: it expects 'Protocols'"),
            std::string::npos)
      << text;
}

TEST(KeyNames, DotNetKeysAndValues) {
  std::string good =
      "REGEDIT4\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319]\n"
      "\"SchUseStrongCrypto\"=dword:1\n\"SystemDefaultTlsVersions\"=dword:1\n\"AspNetEnforceViewStateMac\"=dword:1\n"
      "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v1.1.4322]\n\"X\"=\"y\"\n"
      "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\NET Framework Setup\\NDP]\n"
      "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion]\n";
  EXPECT_TRUE(problems_of(good).empty()) << all_messages(problems_of(good));

  auto bad = problems_of(
      "REGEDIT4\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NET "
      "Framework\\v4.0.30319]\n\"SchUseStrongCrypto\"=dword:1\n"
      "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework\\v4.0.30319]\n"
      "\"SchUseStrongCrpyto\"=dword:1\n\"SystemDefaultTlsVersions\"=\"1\"\n"
      "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.3019]\n\"SchUseStrongCrypto\"=dword:1\n"
      "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework]\n\"SchUseStrongCrypto\"=dword:1\n");
  ASSERT_EQ(bad.size(), 5u) << all_messages(bad);
  std::string text = all_messages(bad);
  EXPECT_NE(text.find("Microsoft\\.NET Framework] (line 2) is not a key .NET reads: it expects '.NETFramework'"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\"SchUseStrongCrpyto\" (line 5) is not a value .NET reads: it reads \"SchUseStrongCrypto\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("value-ignored: HKEY_LOCAL_MACHINE\\SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework\\v4.0.30319\\"
                      "SystemDefaultTlsVersions is REG_SZ \"1\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(".NETFramework\\v4.0.3019] (line 7) is not a key .NET reads: it expects 'v4.0.30319'"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(".NETFramework\\SchUseStrongCrypto (line 10) is not read there: .NET reads them under"),
            std::string::npos)
      << text;
}

TEST(KeyNames, TheShippedExampleExportHasNone) {
  Assessment a = assess(parse_export("REGEDIT4\n[" + kSchannel + "\\Protocols\\TLS 1.2\\Client]\n" + kEnabledLines +
                                     "[" + kSchannel + "\\Protocols\\TLS 1.2\\Server]\n" + kEnabledLines),
                        WindowsVersion::Server2016);
  for (const auto& p : a.problems) EXPECT_NE(p.severity, Severity::Error) << p.id << ": " << p.message;
}

}  // namespace
}  // namespace sluice::schannel
