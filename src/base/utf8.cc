#include "base/utf8.h"

#include <algorithm>
#include <iterator>

#include <fmt/format.h>

namespace sluice {
namespace {

/// RFC 3629's table (section 4): for each range of lead bytes, the sequence's length and the
/// allowed range of its second byte, which excludes overlongs, surrogates and values above
/// U+10FFFF in one check. Lead bytes in no row are continuation bytes, C0/C1 (always overlong)
/// or F5-FF (above U+10FFFF).
struct LeadByte {
  unsigned char first, last;  ///< the lead bytes this row covers
  std::size_t length;
  unsigned char lo, hi;  ///< the second byte's range; later ones are 80-BF
};
constexpr LeadByte kLeadBytes[] = {
    {0xc2, 0xdf, 2, 0x80, 0xbf},  // U+0080..U+07FF
    {0xe0, 0xe0, 3, 0xa0, 0xbf},  // U+0800..U+0FFF
    {0xe1, 0xec, 3, 0x80, 0xbf},  // U+1000..U+CFFF
    {0xed, 0xed, 3, 0x80, 0x9f},  // U+D000..U+D7FF (not the surrogates)
    {0xee, 0xef, 3, 0x80, 0xbf},  // U+E000..U+FFFF
    {0xf0, 0xf0, 4, 0x90, 0xbf},  // U+10000..U+3FFFF
    {0xf1, 0xf3, 4, 0x80, 0xbf},  // U+40000..U+FFFFF
    {0xf4, 0xf4, 4, 0x80, 0x8f},  // U+100000..U+10FFFF
};

/// Decodes the sequence starting at text[i] into `point` and returns its length, or 0 when it
/// is not well-formed.
std::size_t decode_one(std::string_view text, std::size_t i, char32_t& point) {
  const auto lead = static_cast<unsigned char>(text[i]);
  if (lead < 0x80) {
    point = lead;
    return 1;
  }
  const auto* row = std::find_if(std::begin(kLeadBytes), std::end(kLeadBytes),
                                 [&](const LeadByte& r) { return lead >= r.first && lead <= r.last; });
  if (row == std::end(kLeadBytes)) return 0;
  const std::size_t length = row->length;
  const unsigned char lo = row->lo, hi = row->hi;
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

std::string escape_control_characters(std::string_view text) {
  const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte >= 0x20 && byte < 0x7f;
  });
  if (plain) return std::string(text);  // the common case: printable ASCII
  std::string out;
  out.reserve(text.size() + 16);
  for (std::size_t i = 0; i < text.size();) {
    char32_t point;
    const std::size_t n = decode_one(text, i, point);
    if (n == 0 || point < 0x20 || point == 0x7f) {
      out += fmt::format("\\x{:02X}", static_cast<unsigned char>(text[i]));
      ++i;
    } else if (point >= 0x80 && point <= 0x9f) {
      out += fmt::format("\\u{:04X}", static_cast<unsigned>(point));
      i += n;
    } else {
      out.append(text, i, n);
      i += n;
    }
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
