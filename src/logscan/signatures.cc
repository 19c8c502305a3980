#include "logscan/signatures.h"
#include "base/text.h"

namespace sluice::logscan {
namespace {

bool word_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/// `prefix` followed by a word (the reason), if present.
void with_word(std::string_view text, std::string_view prefix, Signatures& out) {
  auto at = text.find(prefix);
  if (at == std::string_view::npos) return;
  std::size_t end = at + prefix.size();
  while (end < text.size() && word_char(text[end])) ++end;
  if (end > at + prefix.size()) out.add(text.substr(at, end - at));
}

void fixed(std::string_view text, std::string_view what, Signatures& out) {
  auto at = text.find(what);
  if (at != std::string_view::npos) out.add(text.substr(at, what.size()));
}

}  // namespace

std::string_view connect_failure_signature(std::string_view text) {
  // Winsock codes as Exchange prints them, and the texts sluice logs (asio's messages, and
  // "TimedOut" for its own connect timeout).
  struct Cause {
    std::string_view winsock, sluice, signature;
  };
  static constexpr Cause kCauses[] = {
      {"code: 10061,", "Connection refused", "Failed to connect: connection refused"},
      {"code: 10060,", "TimedOut", "Failed to connect: timed out"},
      {"code: 10060,", "Connection timed out", "Failed to connect: timed out"},
      {"code: 10051,", "Network is unreachable", "Failed to connect: network unreachable"},
      {"code: 10065,", "No route to host", "Failed to connect: host unreachable"},
  };
  for (const Cause& c : kCauses)
    if (text.find(c.winsock) != std::string_view::npos || text.find(c.sluice) != std::string_view::npos)
      return c.signature;
  return "Failed to connect";
}

Signatures find_signatures(std::string_view text) {
  Signatures out;
  with_word(text, "421 4.4.2 Connection dropped due to ", out);
  with_word(text, "TLS negotiation failed with error ", out);
  fixed(text, "451 5.7.3 Must issue a STARTTLS command first", out);
  if (auto at = text.find("530 5.7.0 "); at != std::string_view::npos) {
    std::size_t end = text.find_first_of(";(\"\r\n", at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view sig = text.substr(at, end - at);
    while (!sig.empty() && (sig.back() == ' ' || sig.back() == '.')) sig.remove_suffix(1);
    if (sig.size() > 80) sig = sig.substr(0, 80);
    out.add(sig);
  }
  fixed(text, "SSL_accept error", out);
  fixed(text, "SSL_connect error", out);
  fixed(text, "lost connection after STARTTLS", out);
  if (auto at = text.find(" starttls="); at != std::string_view::npos) {
    std::size_t start = at + 1, slash = text.find('/', start);
    if (slash != std::string_view::npos) {
      std::size_t end = slash + 1;
      while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
      std::string_view ok = text.substr(start + 9, slash - start - 9), total = text.substr(slash + 1, end - slash - 1);
      // Compare as numbers of equal width would need parsing; lengths first, then text.
      if (all_digits(ok) && all_digits(total) &&
          (ok.size() < total.size() || (ok.size() == total.size() && ok < total))) {
        out.add(text.substr(start, end - start));
      }
    }
  }
  return out;
}

}  // namespace sluice::logscan
