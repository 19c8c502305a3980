#include "smtp/sasl.h"

#include <array>
#include <cstdint>

namespace sluice::smtp {
namespace {

constexpr std::string_view kBase64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The value of one base64 digit, or -1.
int base64_digit(char c) {
  const auto at = kBase64Alphabet.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

}  // namespace

std::string base64_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < data.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, data.size() - i);
    std::uint32_t group = 0;
    for (std::size_t k = 0; k < 3; ++k) group = group << 8 | (k < n ? static_cast<unsigned char>(data[i + k]) : 0u);
    for (std::size_t k = 0; k < 4; ++k) out.push_back(k <= n ? kBase64Alphabet[group >> (18 - 6 * k) & 0x3f] : '=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    std::uint32_t group = 0;
    std::size_t padding = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && last && k >= 2) {
        ++padding;
        group <<= 6;
        continue;
      }
      const int digit = base64_digit(c);
      if (digit < 0 || padding > 0) return std::nullopt;  // a digit after '=' is not base64 either
      group = group << 6 | static_cast<std::uint32_t>(digit);
    }
    for (std::size_t k = 0; k < 3 - padding; ++k) out.push_back(static_cast<char>(group >> (16 - 8 * k) & 0xff));
  }
  return out;
}

std::string plain_response(std::string_view user, std::string_view password) {
  std::string message;
  message.push_back('\0');
  message.append(user);
  message.push_back('\0');
  message.append(password);
  return base64_encode(message);
}

std::string xoauth2_response(std::string_view user, std::string_view token) {
  std::string message = "user=";
  message.append(user);
  message.append(
      "\x01"
      "auth=Bearer ");
  message.append(token);
  message.append("\x01\x01");
  return base64_encode(message);
}

}  // namespace sluice::smtp
