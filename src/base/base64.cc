#include "base/base64.h"

#include <cstdint>

namespace sluice {
namespace {

constexpr std::string_view kStandardAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode_base64(std::string_view data, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::uint32_t bits = 0;
  int count = 0;
  for (unsigned char byte : data) {
    bits = (bits << 8) | byte;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += alphabet[(bits >> count) & 0x3f];
    }
  }
  if (count > 0) out += alphabet[(bits << (6 - count)) & 0x3f];
  while (pad && out.size() % 4 != 0) out += '=';
  return out;
}

/// `padded`: the padding must be there, and right (standard base64); else it may be left out.
std::optional<std::string> decode_base64(std::string_view text, std::string_view alphabet, bool padded) {
  const std::size_t full = text.size();
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  const std::size_t padding = full - text.size();
  if (text.size() % 4 == 1 || padding > 2) return std::nullopt;
  if (padded && (full % 4 != 0 || padding != (4 - text.size() % 4) % 4)) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    const auto value = alphabet.find(c);
    if (value == std::string_view::npos) return std::nullopt;  // '=' inside, whitespace, the other alphabet
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

}  // namespace

std::string base64_encode(std::string_view data) { return encode_base64(data, kStandardAlphabet, true); }
std::optional<std::string> base64_decode(std::string_view text) { return decode_base64(text, kStandardAlphabet, true); }
std::string base64url_encode(std::string_view data) { return encode_base64(data, kUrlAlphabet, false); }
std::optional<std::string> base64url_decode(std::string_view text) { return decode_base64(text, kUrlAlphabet, false); }

}  // namespace sluice
