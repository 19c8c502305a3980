#include "smtp/address.h"
#include "base/text.h"
#include "base/utf8.h"

#include <arpa/inet.h>
#include <strings.h>

#include <cstring>

namespace sluice::smtp {
namespace {

constexpr std::size_t kMaxLocalPart = 64;  // RFC 5321 4.5.3.1.1
constexpr std::size_t kMaxDomain = 255;    // RFC 5321 4.5.3.1.2
constexpr std::size_t kMaxLabel = 63;      // RFC 1035 2.3.4

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_non_ascii(char c) { return static_cast<unsigned char>(c) >= 0x80; }

/// RFC 5322 atext.
bool is_atext(char c) {
  return is_alpha(c) || is_ascii_digit(c) || (c != '\0' && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr);
}

/// sub-domain *("." sub-domain); U-labels allowed when allow_utf8 (RFC 6531 3.3).
Result<void> check_domain_name(std::string_view d, bool allow_utf8) {
  if (d.empty()) return fail("missing domain");
  if (d.size() > kMaxDomain) return fail("domain longer than 255 octets");
  if (d.back() == '.') return fail("trailing dot in domain");
  std::size_t start = 0;
  while (true) {
    const auto dot = d.find('.', start);
    const auto label = d.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) return fail("empty label in domain");
    if (label.size() > kMaxLabel) return fail("domain label longer than 63 octets");
    if (label.front() == '-' || label.back() == '-') return fail("domain label starts or ends with a hyphen");
    for (char c : label) {
      if (is_alpha(c) || is_ascii_digit(c) || c == '-') continue;
      if (is_non_ascii(c) && allow_utf8) continue;
      if (is_non_ascii(c)) return fail("non-ASCII character in domain");
      return fail("invalid character in domain");
    }
    if (dot == std::string_view::npos) return {};
    start = dot + 1;
  }
}

/// Snum 3("." Snum), each 1-3 digits with a value up to 255.
bool valid_ipv4(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t digits = 0;
    int value = 0;
    while (i < s.size() && is_ascii_digit(s[i]) && digits < 4) {
      value = value * 10 + (s[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || digits > 3 || value > 255) return false;
    ++parts;
    if (i == s.size()) return parts == 4;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
}

Result<void> check_address_literal(std::string_view d) {
  if (d.size() < 3 || d.back() != ']') return fail("unterminated address literal");
  const auto inner = d.substr(1, d.size() - 2);
  constexpr std::string_view kTag = "IPv6:";
  if (inner.size() >= kTag.size() && strncasecmp(inner.data(), kTag.data(), kTag.size()) == 0) {
    const std::string v6(inner.substr(kTag.size()));
    in6_addr addr{};
    if (v6.empty() || inet_pton(AF_INET6, v6.c_str(), &addr) != 1) return fail("invalid IPv6 address literal");
    return {};
  }
  if (inner.find(':') != std::string_view::npos) return fail("unsupported address literal");
  if (!valid_ipv4(inner)) return fail("invalid IPv4 address literal");
  return {};
}

Result<void> check_domain(std::string_view d, bool allow_utf8) {
  if (!d.empty() && d.front() == '[') return check_address_literal(d);
  return check_domain_name(d, allow_utf8);
}

/// Drops "@a,@b:" (RFC 5321 appendix C) and returns the rest; the hosts must still be valid domain names.
Result<std::string_view> strip_source_route(std::string_view text, bool allow_utf8) {
  if (text.empty() || text.front() != '@') return text;
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return fail("source route without ':'");
  std::string_view route = text.substr(0, colon);
  while (!route.empty()) {
    if (route.front() != '@') return fail("invalid source route");
    const auto comma = route.find(',');
    const auto host = route.substr(1, comma == std::string_view::npos ? std::string_view::npos : comma - 1);
    if (!check_domain_name(host, allow_utf8)) return fail("invalid domain in source route");
    if (comma == std::string_view::npos) break;
    route.remove_prefix(comma + 1);
    if (route.empty()) return fail("invalid source route");
  }
  return text.substr(colon + 1);
}

/// Quoted-string: returns the length including both quotes.
Result<std::size_t> scan_quoted(std::string_view text, bool allow_utf8) {
  for (std::size_t i = 1; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') return i + 1;
    if (c == '\\') {
      // quoted-pairSMTP = "\" %d32-126
      if (i + 1 >= text.size()) break;
      const auto next = static_cast<unsigned char>(text[i + 1]);
      if (next < 32 || next > 126) return fail("invalid quoted pair in local part");
      ++i;
      continue;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u >= 32 && u <= 126) continue;  // qtextSMTP plus space
    if (u >= 0x80 && allow_utf8) continue;
    if (u >= 0x80) return fail("non-ASCII character in local part");
    return fail("control character in local part");
  }
  return fail("unterminated quoted local part");
}

/// Dot-string: returns its length (up to the '@' or the end).
Result<std::size_t> scan_dot_string(std::string_view text, bool allow_utf8) {
  std::size_t i = 0;
  bool after_dot = true;  // a leading dot is as bad as a doubled one
  for (; i < text.size() && text[i] != '@'; ++i) {
    const char c = text[i];
    if (c == '.') {
      if (i == 0) return fail("local part starts with a dot");
      if (after_dot) return fail("consecutive dots in local part");
      after_dot = true;
      continue;
    }
    after_dot = false;
    if (is_atext(c)) continue;
    if (is_non_ascii(c) && allow_utf8) continue;
    if (is_non_ascii(c)) return fail("non-ASCII character in local part");
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return fail("control character in local part");
    return fail("invalid character in local part");
  }
  if (i == 0) return fail("empty local part");
  if (after_dot) return fail("local part ends with a dot");
  return i;
}

}  // namespace

std::string Mailbox::str() const {
  if (domain.empty()) return local_part;
  return local_part + "@" + domain;
}

std::string Mailbox::domain_key() const { return ascii_lower(domain); }

bool Mailbox::domain_is_literal() const { return !domain.empty() && domain.front() == '['; }

bool Mailbox::has_routing_characters() const {
  // An unquoted local part cannot hold '@', so any '@' here was inside quotes.
  return local_part.find_first_of("%!@") != std::string::npos;
}

Result<Mailbox> parse_mailbox(std::string_view text, bool allow_utf8) {
  if (text.empty()) return fail("empty address");
  for (char c : text) {
    if (!is_non_ascii(c)) continue;
    if (!allow_utf8) return fail("non-ASCII character in address");
    if (!is_valid_utf8(text)) return fail("invalid UTF-8 in address");
    break;
  }
  auto routed = strip_source_route(text, allow_utf8);
  if (!routed) return fail(routed.error());
  text = *routed;
  if (text.empty()) return fail("empty address");

  const bool quoted = text.front() == '"';
  auto local = quoted ? scan_quoted(text, allow_utf8) : scan_dot_string(text, allow_utf8);
  if (!local) return fail(local.error());
  const std::size_t local_len = *local;
  if (quoted && local_len == 2) return fail("empty local part");  // ""@example.com
  if (local_len > kMaxLocalPart) return fail("local part longer than 64 octets");
  if (local_len == text.size()) return fail("missing domain");
  if (text[local_len] != '@') return fail("unexpected text after quoted local part");

  const std::string_view domain = text.substr(local_len + 1);
  if (domain.find('@') != std::string_view::npos) return fail("more than one '@' in address");
  if (auto checked = check_domain(domain, allow_utf8); !checked) return fail(checked.error());

  return Mailbox{std::string(text.substr(0, local_len)), std::string(domain)};
}

}  // namespace sluice::smtp
