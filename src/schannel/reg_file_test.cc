#include "schannel/reg_file.h"

#include <gtest/gtest.h>

namespace sluice::schannel {
namespace {

const std::string kTls12 =
    "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2";

std::string utf16le(std::string_view text, bool bom = true) {
  std::string out = bom ? "\xFF\xFE" : "";
  for (char c : text) {
    out += c;
    out += '\0';
  }
  return out;
}

int parse_error_line(std::string_view bytes) {
  try {
    parse_export(bytes);
  } catch (const RegParseError& e) {
    return e.line();
  }
  return -1;
}

TEST(RegFile, ReadsUtf16ExportWithBomAndCrlf) {
  std::string text = "Windows Registry Editor Version 5.00\r\n\r\n[" + kTls12 +
                     "\\Client]\r\n\"DisabledByDefault\"=dword:00000000\r\n\"Enabled\"=dword:ffffffff\r\n\r\n";
  Registry r = parse_export(utf16le(text));
  ASSERT_NE(r.find_value(kTls12 + "\\Client", "Enabled"), nullptr);
  EXPECT_EQ(r.find_value(kTls12 + "\\Client", "Enabled")->dword(), 0xffffffffu);
  EXPECT_EQ(r.find_value(kTls12 + "\\Client", "DisabledByDefault")->dword(), 0u);
  EXPECT_EQ(r.find_value(kTls12 + "\\Client", "Enabled")->line, 5);
}

TEST(RegFile, ReadsUtf16WithoutBomAndUtf8WithBom) {
  std::string text = "Windows Registry Editor Version 5.00\n[HKLM\\A]\n\"X\"=dword:2\n";
  EXPECT_EQ(parse_export(utf16le(text, false)).find_value("HKLM\\A", "X")->dword(), 2u);
  EXPECT_EQ(parse_export("\xEF\xBB\xBF" + text).find_value("HKLM\\A", "X")->dword(), 2u);
}

TEST(RegFile, ReadsUtf16BigEndianWithBom) {
  std::string text = "REGEDIT4\n[HKLM\\A]\n\"X\"=dword:3\n";
  std::string be = "\xFE\xFF";
  for (char c : text) {
    be += '\0';
    be += c;
  }
  EXPECT_EQ(parse_export(be).find_value("HKLM\\A", "X")->dword(), 3u);
}

TEST(RegFile, ReadsRegedit4AnsiStrings) {
  // 0xE9 is é and 0x80 is € in Windows-1252.
  std::string text = "REGEDIT4\r\n\r\n[HKEY_CURRENT_USER\\Caf\xE9]\r\n\"Name\"=\"\x80 5\"\r\n";
  Registry r = parse_export(text);
  const RegValue* v = r.find_value("HKCU\\Caf\xC3\xA9", "name");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->type, RegValue::kString);
  EXPECT_EQ(v->text, "\xE2\x82\xAC 5");
}

TEST(RegFile, TextThatIsNotStrictUtf8IsWindows1252) {
  // Overlong forms and surrogates are not UTF-8 (RFC 3629), so such a file is an ANSI export and
  // its text comes out as valid UTF-8; it once passed through as it was.
  EXPECT_EQ(decode_export_text("REGEDIT4\n\xC0\xAF"), "REGEDIT4\n\xC3\x80\xC2\xAF");                  // À¯
  EXPECT_EQ(decode_export_text("REGEDIT4\n\xED\xA0\x80"), "REGEDIT4\n\xC3\xAD\xC2\xA0\xE2\x82\xAC");  // í, NBSP, €
  EXPECT_EQ(decode_export_text("REGEDIT4\n\xC3\xA9"), "REGEDIT4\n\xC3\xA9");  // UTF-8 stays as it is
}

TEST(RegFile, KeysAndValueNamesIgnoreCaseAndShortRoots) {
  Registry r = parse_export("REGEDIT4\n[hkey_local_machine\\System\\X]\n\"enabled\"=dword:1\n");
  EXPECT_NE(r.find_value("HKLM\\SYSTEM\\x", "ENABLED"), nullptr);
  EXPECT_EQ(r.find_key("HKLM\\system\\X")->path, "HKEY_LOCAL_MACHINE\\System\\X");
  EXPECT_EQ(r.find_key("HKCU\\System\\X"), nullptr);
}

TEST(RegFile, StringEscapesAndDefaultValue) {
  Registry r = parse_export("REGEDIT4\n[HKLM\\A]\n@=\"root\"\n\"a \\\"q\\\"\"=\"C:\\\\dir\\\\\"\n");
  EXPECT_EQ(r.find_value("HKLM\\A", "")->text, "root");
  const RegValue* v = r.find_value("HKLM\\A", "a \"q\"");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->text, "C:\\dir\\");
}

TEST(RegFile, HexValuesWithContinuationLines) {
  std::string text =
      "Windows Registry Editor Version 5.00\n[HKLM\\A]\n"
      "\"Bin\"=hex:01,02,\\\n  03,ff\n"
      "\"Q\"=hex(b):01,00,00,00,\\\n    00,00,00,80\n"
      "\"D4\"=hex(4):10,00,00,00\n"
      "\"Exp\"=hex(2):25,00,57,00,25,00,00,00\n"
      "\"Multi\"=hex(7):61,00,00,00,62,00,63,00,00,00,00,00\n"
      "\"After\"=dword:7\n";
  Registry r = parse_export(text);
  EXPECT_EQ(r.find_value("HKLM\\A", "Bin")->bytes, (std::vector<std::uint8_t>{1, 2, 3, 255}));
  EXPECT_EQ(r.find_value("HKLM\\A", "Q")->number, 0x8000000000000001ull);
  EXPECT_FALSE(r.find_value("HKLM\\A", "Q")->dword());
  EXPECT_EQ(r.find_value("HKLM\\A", "D4")->dword(), 16u);
  EXPECT_EQ(r.find_value("HKLM\\A", "Exp")->text, "%W%");
  EXPECT_EQ(r.find_value("HKLM\\A", "Multi")->strings, (std::vector<std::string>{"a", "bc"}));
  EXPECT_EQ(r.find_value("HKLM\\A", "After")->dword(), 7u);
  EXPECT_EQ(r.find_value("HKLM\\A", "After")->line, 10);
}

TEST(RegFile, Regedit4MultiStringIsAnsi) {
  Registry r = parse_export("REGEDIT4\n[HKLM\\A]\n\"M\"=hex(7):61,62,00,63,00,00\n");
  EXPECT_EQ(r.find_value("HKLM\\A", "M")->strings, (std::vector<std::string>{"ab", "c"}));
}

TEST(RegFile, DeletesKeysWithSubkeysAndValues) {
  Registry r;
  read_export("REGEDIT4\n[HKLM\\A]\n\"x\"=dword:1\n\"y\"=dword:2\n[HKLM\\A\\B]\n\"z\"=dword:3\n[HKLM\\AB]\n", r);
  read_export("REGEDIT4\n[-HKEY_LOCAL_MACHINE\\a\\b]\n\"ignored\"=dword:9\n[HKLM\\A]\n\"X\"=-\n", r);
  EXPECT_EQ(r.find_key("HKLM\\A\\B"), nullptr);
  EXPECT_EQ(r.find_value("HKLM\\A", "x"), nullptr);
  EXPECT_EQ(r.find_value("HKLM\\A", "y")->dword(), 2u);
  EXPECT_NE(r.find_key("HKLM\\AB"), nullptr);  // a sibling sharing the prefix survives
  read_export("REGEDIT4\n[-HKLM\\A]\n", r);
  EXPECT_EQ(r.find_key("HKLM\\A"), nullptr);
  EXPECT_FALSE(r.has_subtree("HKLM\\A"));
  EXPECT_TRUE(r.has_subtree("HKLM"));
}

TEST(RegFile, CommentsAndBlankLinesAreSkipped) {
  Registry r = parse_export("\n\nREGEDIT4\n; a comment\n[HKLM\\A]\n   ; indented comment\n\"x\"=dword:1\n");
  EXPECT_EQ(r.find_value("HKLM\\A", "x")->dword(), 1u);
}

TEST(RegFile, ErrorsNameTheLine) {
  EXPECT_EQ(parse_error_line("hello\n"), 1);
  EXPECT_EQ(parse_error_line("\n\nnot a header\n"), 3);
  EXPECT_EQ(parse_error_line("REGEDIT4\n[HKLM\\A]\ngarbage here\n"), 3);
  EXPECT_EQ(parse_error_line("REGEDIT4\n\"x\"=dword:1\n"), 2);  // value before any key
  EXPECT_EQ(parse_error_line("REGEDIT4\n[HKLM\\A\n"), 2);       // no ]
  EXPECT_EQ(parse_error_line("REGEDIT4\n[NOPE\\A]\n"), 2);      // unknown root
  EXPECT_EQ(parse_error_line("REGEDIT4\n[HKLM\\A]\n\"x\"=dword:123456789\n"), 3);
  EXPECT_EQ(parse_error_line("REGEDIT4\n[HKLM\\A]\n\"x\"=dword:xyz\n"), 3);
  EXPECT_EQ(parse_error_line("REGEDIT4\n[HKLM\\A]\n\"x\"=dword:\n"), 3);
  EXPECT_EQ(parse_error_line("REGEDIT4\n[HKLM\\A]\n\n\"x\"=hex:01,zz\n"), 4);
  EXPECT_EQ(parse_error_line("REGEDIT4\n[HKLM\\A]\n\"q\"=hex(b):01,02\n"), 3);
  EXPECT_EQ(parse_error_line("REGEDIT4\n[HKLM\\A]\n\"x\"=\"open\n"), 3);
  EXPECT_EQ(parse_error_line("REGEDIT4\n[HKLM\\A]\n\"x\" dword:1\n"), 3);
  EXPECT_EQ(parse_error_line("REGEDIT4\n[HKLM\\A]\n\"x\"=wat:1\n"), 3);
  EXPECT_EQ(parse_error_line("REGEDIT4\n[HKLM\\A]\n\"x\"=hex:01,\\\n02,\\\n"), 3);    // file ends mid-value
  EXPECT_EQ(parse_error_line("REGEDIT4\n[HKLM\\A]\n\"x\"=hex:01,\\\n  02,0g\n"), 3);  // the value's first line
  EXPECT_EQ(parse_error_line(""), 0);
  EXPECT_EQ(parse_error_line(std::string("\x00\x01\x02\x03", 4)), 1);
}

TEST(RegFile, ErrorMessageCarriesLineAndDetail) {
  try {
    parse_export("REGEDIT4\n[HKLM\\A]\nblah\n");
    FAIL() << "no error";
  } catch (const RegParseError& e) {
    EXPECT_EQ(std::string(e.what()).substr(0, 8), "line 3: ");
    EXPECT_NE(e.detail().find("expected a key"), std::string::npos);
  }
}

TEST(RegFile, DescribeValues) {
  Registry r = parse_export("REGEDIT4\n[HKLM\\A]\n\"d\"=dword:0000001a\n\"s\"=\"1\"\n\"b\"=hex:00\n");
  EXPECT_EQ(r.find_value("HKLM\\A", "d")->describe(), "dword:0000001a");
  EXPECT_EQ(r.find_value("HKLM\\A", "s")->describe(), "REG_SZ \"1\"");
  EXPECT_EQ(r.find_value("HKLM\\A", "b")->describe(), "REG_BINARY of 1 bytes");
}

TEST(RegFile, NormalizeKeyPath) {
  EXPECT_EQ(normalize_key_path("HKLM\\A\\"), "HKEY_LOCAL_MACHINE\\A");
  EXPECT_EQ(normalize_key_path("hkcu"), "HKEY_CURRENT_USER");
  EXPECT_EQ(normalize_key_path("HKXX\\A"), std::nullopt);
}

}  // namespace
}  // namespace sluice::schannel
