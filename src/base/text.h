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

/// ASCII upper case (SASL mechanism names are upper-case ASCII, RFC 4422 3.1).
inline std::string ascii_upper(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

/// True when `text` begins with `prefix`, ASCII letters compared without case (SMTP verbs, log
/// field names).
inline bool starts_with_ascii_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char a = text[i], b = prefix[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}

/// Space or horizontal tab: the WSP of RFC 5234, which DNS TXT grammars (MTA-STS, TLS-RPT) and
/// policy files allow around their fields.
inline bool is_wsp(char c) { return c == ' ' || c == '\t'; }
inline std::string_view trim_wsp(std::string_view text) {
  while (!text.empty() && is_wsp(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_wsp(text.back())) text.remove_suffix(1);
  return text;
}

inline bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }

/// True for a non-empty run of ASCII digits (reply codes, ports, counts), locale-independent.
inline bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace sluice
