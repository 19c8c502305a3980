#include "inbound/sasl_responses.h"

#include <array>
#include <optional>

namespace sluice::inbound {
namespace {

/// The value of each base64 digit (RFC 4648 4), -1 for anything else.
constexpr std::array<int, 256> kBase64Digits = [] {
  std::array<int, 256> digits{};
  digits.fill(-1);
  constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) digits[static_cast<unsigned char>(kAlphabet[i])] = int(i);
  return digits;
}();

/// Strict base64: whole groups of four, '=' only as the padding of the last group.
std::optional<std::string> sasl_base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const std::size_t padding = !last ? 0 : text[i + 3] != '=' ? 0 : text[i + 2] != '=' ? 1 : 2;
    std::uint32_t group = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      int digit = j >= 4 - padding ? 0 : kBase64Digits[static_cast<unsigned char>(text[i + j])];
      if (digit < 0) return std::nullopt;
      group = group << 6 | static_cast<std::uint32_t>(digit);
    }
    out += static_cast<char>(group >> 16 & 0xff);
    if (padding < 2) out += static_cast<char>(group >> 8 & 0xff);
    if (padding < 1) out += static_cast<char>(group & 0xff);
  }
  return out;
}

}  // namespace

Result<std::string, smtp::Reply> decode_sasl_response(std::string_view line, bool initial) {
  if (line == "*") return fail(smtp::make_reply(501, "5.0.0", "Authentication cancelled"));
  if (initial && line == "=") return std::string();
  auto decoded = sasl_base64_decode(line);
  if (!decoded) return fail(smtp::make_reply(501, "5.5.2", "Cannot decode the response (it is not base64)"));
  return std::move(*decoded);
}

Result<PlainCredentials, smtp::Reply> parse_plain(std::string_view message) {
  const std::size_t first = message.find('\0');
  const std::size_t second = first == std::string_view::npos ? first : message.find('\0', first + 1);
  if (second == std::string_view::npos || message.find('\0', second + 1) != std::string_view::npos)
    return fail(smtp::make_reply(501, "5.5.2", "Malformed PLAIN response (authzid NUL authcid NUL password)"));
  return PlainCredentials{std::string(message.substr(0, first)),
                          std::string(message.substr(first + 1, second - first - 1)),
                          std::string(message.substr(second + 1))};
}

}  // namespace sluice::inbound
