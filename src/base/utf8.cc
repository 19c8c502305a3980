#include "base/utf8.h"

namespace sluice {
namespace {

/// Decodes the sequence starting at text[i] into `point` and returns its length, or 0 when it
/// is not well-formed. The allowed range of the second byte per lead byte is RFC 3629's table
/// (section 4), which excludes overlongs, surrogates and values above U+10FFFF in one check.
std::size_t decode_one(std::string_view text, std::size_t i, char32_t& point) {
  const auto lead = static_cast<unsigned char>(text[i]);
  if (lead < 0x80) {
    point = lead;
    return 1;
  }
  std::size_t length;
  unsigned char lo = 0x80, hi = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf)
    length = 2;
  else if (lead == 0xe0) {
    length = 3;
    lo = 0xa0;
  } else if (lead == 0xed) {
    length = 3;
    hi = 0x9f;
  } else if (lead >= 0xe1 && lead <= 0xef)
    length = 3;
  else if (lead == 0xf0) {
    length = 4;
    lo = 0x90;
  } else if (lead == 0xf4) {
    length = 4;
    hi = 0x8f;
  } else if (lead >= 0xf1 && lead <= 0xf3)
    length = 4;
  else
    return 0;                              // a continuation byte, C0/C1 (always overlong) or F5-FF (above U+10FFFF)
  if (text.size() - i < length) return 0;  // truncated
  point = lead & (0x7f >> length);
  for (std::size_t k = 1; k < length; ++k) {
    const auto byte = static_cast<unsigned char>(text[i + k]);
    if (byte < (k == 1 ? lo : 0x80) || byte > (k == 1 ? hi : 0xbf)) return 0;
    point = (point << 6) | (byte & 0x3f);
  }
  return length;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  char32_t point;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = decode_one(text, i, point);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::optional<std::u32string> decode_utf8(std::string_view text) {
  std::u32string out;
  char32_t point;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = decode_one(text, i, point);
    if (n == 0) return std::nullopt;
    out.push_back(point);
    i += n;
  }
  return out;
}

void append_utf8(std::string& out, char32_t point) {
  if ((point >= 0xd800 && point <= 0xdfff) || point > 0x10ffff) point = 0xfffd;
  if (point < 0x80) {
    out += static_cast<char>(point);
  } else if (point < 0x800) {
    out += static_cast<char>(0xc0 | (point >> 6));
    out += static_cast<char>(0x80 | (point & 0x3f));
  } else if (point < 0x10000) {
    out += static_cast<char>(0xe0 | (point >> 12));
    out += static_cast<char>(0x80 | ((point >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (point & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (point >> 18));
    out += static_cast<char>(0x80 | ((point >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((point >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (point & 0x3f));
  }
}

}  // namespace sluice
