#include "inbound/received_header.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace sluice::inbound {
namespace {

/// A comment or quoted string must not let client-chosen text break out of its parentheses or
/// quotes, or add header lines: parentheses become brackets, anything else but printable ASCII
/// and the other delimiters become '?'.
std::string sanitize(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c == '(' || c == ')') {
      out += c == '(' ? '[' : ']';
      continue;
    }
    bool printable = c >= 0x21 && c < 0x7f && c != '\\' && c != '"' && c != ';';
    out += printable || c == ' ' ? static_cast<char>(c) : '?';
  }
  return out;
}

}  // namespace

std::string with_protocol(const ReceivedInfo& info) {
  std::string name = info.smtputf8 ? "UTF8SMTP" : info.esmtp ? "ESMTP" : "SMTP";
  if (!info.tls_version.empty()) name += "S";
  if (!info.authenticated_user.empty()) name += "A";  // RFC 3848: ESMTPA, ESMTPSA
  return name;
}

std::string rfc5322_date(std::chrono::system_clock::time_point time) {
  auto seconds = std::chrono::floor<std::chrono::seconds>(time);
  return fmt::format("{:%a, %d %b %Y %H:%M:%S} +0000", seconds);
}

std::string received_header(const ReceivedInfo& info) {
  std::string helo = info.helo.empty() ? "unknown" : sanitize(info.helo);
  std::string address =
      info.client_address.find(':') != std::string::npos ? "IPv6:" + info.client_address : info.client_address;
  std::string out = fmt::format("Received: from {} ([{}]) by {} (sluice)\r\n\twith {}", helo, address, info.hostname,
                                with_protocol(info));
  if (!info.tls_version.empty()) out += fmt::format(" (version={}, cipher={})", info.tls_version, info.tls_cipher);
  if (!info.authenticated_user.empty())
    out += fmt::format("\r\n\t(authenticated as \"{}\")", sanitize(info.authenticated_user));
  out += fmt::format("\r\n\t(connector \"{}\") id {}", sanitize(info.connector), info.queue_id);
  if (!info.single_recipient.empty()) out += fmt::format("\r\n\tfor <{}>", sanitize(info.single_recipient));
  out += "; " + rfc5322_date(info.time) + "\r\n";
  return out;
}

}  // namespace sluice::inbound
