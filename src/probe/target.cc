#include "probe/target.h"

#include <fmt/format.h>
#include <asio/ip/address.hpp>

#include <algorithm>
#include <charconv>

namespace sluice::probe {
namespace {

bool is_ip(std::string_view host) {
  std::error_code ec;
  asio::ip::make_address(std::string(host), ec);
  return !ec;
}

bool valid_host_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  if (host.back() == '.') host.remove_suffix(1);
  std::size_t label = 0;
  for (char c : host) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string Target::expected_name() const { return host; }

std::string Target::label() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

Result<Target> parse_target(std::string_view text, bool force_implicit) {
  text = trim(text);
  Target t;
  std::string_view host = text, port;
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string_view::npos) {
      return fail(fmt::format("'{}': missing ']'", text));
    }
    host = text.substr(1, close - 1);
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return fail(fmt::format("'{}': expected ':port' after ']'", text));
      }
      port = rest.substr(1);
    }
    if (host.starts_with("IPv6:") || host.starts_with("ipv6:")) host.remove_prefix(5);
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    auto colon = text.find(':');
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  // More than one colon without brackets: a bare IPv6 address, on port 25.
  if (host.empty()) {
    return fail(fmt::format("'{}': no host", text));
  }
  if (!is_ip(host) && !valid_host_name(host)) {
    return fail(fmt::format("'{}': not a host name or IP address", text));
  }
  if (!port.empty() || (text.find(']') != std::string_view::npos && text.back() == ':')) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return fail(fmt::format("'{}': bad port '{}'", text, port));
    }
    t.port = static_cast<std::uint16_t>(value);
  }
  t.host = std::string(host);
  if (t.host.size() > 1 && t.host.back() == '.') t.host.pop_back();
  t.mode = (force_implicit || t.port == 465) ? TlsMode::Implicit : TlsMode::StartTls;
  return t;
}

std::vector<Target> parse_target_list(std::string_view text, std::string_view file_name, bool force_implicit,
                                      std::vector<std::string>& errors) {
  std::vector<Target> out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    if (auto t = parse_target(line, force_implicit))
      out.push_back(std::move(*t));
    else
      errors.push_back(fmt::format("{}:{}: {}", file_name, line_no, t.error().message));
  }
  return out;
}

}  // namespace sluice::probe
