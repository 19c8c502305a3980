#include "base/utf8.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(Utf8, AcceptsWellFormedText) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8(std::string_view("a\0b", 3)));             // NUL is a character
  EXPECT_TRUE(is_valid_utf8("\xc2\x80\xdf\xbf"));                      // U+0080, U+07FF
  EXPECT_TRUE(is_valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x93\xa7"));  // é € 📧
  EXPECT_TRUE(is_valid_utf8("\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80"));  // U+0800, U+D7FF, U+E000
  EXPECT_TRUE(is_valid_utf8("\xef\xbf\xbf\xf0\x90\x80\x80"));          // U+FFFF, U+10000
  EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));                      // U+10FFFF
}

TEST(Utf8, RejectsOverlongForms) {
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));  // '/' in two bytes
  EXPECT_FALSE(is_valid_utf8("\xc1\xbf"));
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));      // '/' in three
  EXPECT_FALSE(is_valid_utf8("\xe0\x9f\xbf"));      // U+07FF in three
  EXPECT_FALSE(is_valid_utf8("\xf0\x80\x80\xaf"));  // '/' in four
  EXPECT_FALSE(is_valid_utf8("\xf0\x8f\xbf\xbf"));  // U+FFFF in four
}

TEST(Utf8, RejectsSurrogatesAndValuesAboveTheLast) {
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));              // U+D800
  EXPECT_FALSE(is_valid_utf8("\xed\xbf\xbf"));              // U+DFFF
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\xbd\xed\xb2\xa9"));  // a CESU-8 pair
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));          // U+110000
  EXPECT_FALSE(is_valid_utf8("\xf5\x80\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xf7\xbf\xbf\xbf"));
  EXPECT_FALSE(is_valid_utf8("\xf8\x88\x80\x80\x80"));  // the old five-byte form
  EXPECT_FALSE(is_valid_utf8("\xfe"));
  EXPECT_FALSE(is_valid_utf8("\xff"));
}

TEST(Utf8, RejectsStrayAndTruncatedSequences) {
  EXPECT_FALSE(is_valid_utf8("\x80"));  // continuation without a lead
  EXPECT_FALSE(
      is_valid_utf8("a\xbf"
                    "b"));
  EXPECT_FALSE(is_valid_utf8("\xc3"));  // cut at the end
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));
  EXPECT_FALSE(is_valid_utf8("\xf0\x9f\x93"));
  EXPECT_FALSE(is_valid_utf8("caf\xc3"));
  EXPECT_FALSE(is_valid_utf8("\xe2\x28\xa1"));  // a lead followed by ASCII
  EXPECT_FALSE(is_valid_utf8("\xc3\xa9\xa9"));  // one continuation too many
  EXPECT_FALSE(is_valid_utf8("caf\xe9"));       // Latin-1
}

TEST(Utf8, DecodesCodePoints) {
  EXPECT_EQ(decode_utf8(""), std::u32string());
  EXPECT_EQ(decode_utf8("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x93\xa7\xf4\x8f\xbf\xbf"),
            (std::u32string{U'a', 0xe9, 0x20ac, 0x1f4e7, 0x10ffff}));
  EXPECT_EQ(decode_utf8("\xc0\xaf"), std::nullopt);
  EXPECT_EQ(decode_utf8("\xed\xa0\x80"), std::nullopt);
  EXPECT_EQ(decode_utf8("ok\xe2\x82"), std::nullopt);
}

TEST(Utf8, EncodesEveryLengthAndReplacesWhatHasNoForm) {
  std::string out;
  for (char32_t point : {char32_t{'A'}, char32_t{0x7ff}, char32_t{0x20ac}, char32_t{0x10ffff}}) append_utf8(out, point);
  EXPECT_EQ(out, "A\xdf\xbf\xe2\x82\xac\xf4\x8f\xbf\xbf");
  EXPECT_EQ(decode_utf8(out), (std::u32string{U'A', 0x7ff, 0x20ac, 0x10ffff}));
  out.clear();
  append_utf8(out, 0xd800);
  append_utf8(out, 0x110000);
  EXPECT_EQ(out, "\xef\xbf\xbd\xef\xbf\xbd");  // U+FFFD twice
}

TEST(EscapeControlCharacters, PrintableTextAndUtf8StayAsTheyAre) {
  for (std::string_view text : {"", "EHLO client.example", "CONTOSO\\scanner", "组织内 SMTP 发送连接器",
                                "caf\xc3\xa9 \xf0\x9f\x93\xa7", "\xc2\xa0no-break space (U+00A0) is not a control"}) {
    EXPECT_EQ(escape_control_characters(text), text);
  }
}

TEST(EscapeControlCharacters, ControlsAndBytesThatAreNotUtf8) {
  using namespace std::string_literals;
  EXPECT_EQ(escape_control_characters("EHLO a\0b"s), "EHLO a\\x00b");
  EXPECT_EQ(escape_control_characters("\x1b[2J\x1b]0;title\x07"), "\\x1B[2J\\x1B]0;title\\x07");
  EXPECT_EQ(escape_control_characters("tab\there\r\nnext\x7f"), "tab\\x09here\\x0D\\x0Anext\\x7F");
  // C1 controls in UTF-8 (U+009B is CSI for some terminals), and the raw bytes of Latin-1's C1.
  EXPECT_EQ(escape_control_characters("\xc2\x9b"
                                      "31m \xc2\x85"),
            "\\u009B31m \\u0085");
  EXPECT_EQ(escape_control_characters("\x9b"
                                      "31m"),
            "\\x9B31m");
  // Not UTF-8: a stray continuation byte, a truncated sequence, an overlong NUL, a surrogate.
  EXPECT_EQ(escape_control_characters("a\x80z \xe6\x97 \xc0\x80 \xed\xa0\x80"),
            "a\\x80z \\xE6\\x97 \\xC0\\x80 \\xED\\xA0\\x80");
}

TEST(EscapeControlCharacters, ResultIsPrintableUtf8) {
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte += static_cast<char>(b);
  std::string out = escape_control_characters(every_byte + "\xc2\x80\xc2\x9f");
  EXPECT_TRUE(is_valid_utf8(out));
  for (char c : out) {
    auto byte = static_cast<unsigned char>(c);
    EXPECT_TRUE(byte >= 0x20 && byte != 0x7f) << int(byte);
  }
  EXPECT_EQ(out.find("\xc2\x80"), std::string::npos);
}

}  // namespace
}  // namespace sluice
