// Small text helpers shared across the protocol code.
#pragma once
#include <string>
#include <string_view>

namespace sluice {

/// ASCII lower case, independent of the locale: domains, ESMTP keywords and status names are
/// case-insensitive in ASCII only (RFC 5321 2.4); UTF-8 bytes pass through unchanged.
inline std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace sluice
