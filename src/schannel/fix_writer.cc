#include "schannel/fix_writer.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/text.h"
#include "schannel/tls_settings.h"

namespace sluice::schannel {
namespace {

void add_protocol(std::vector<FixKey>& keys, Protocol protocol, bool on) {
  for (Side side : kSides)
    keys.push_back({protocol_key(protocol, side), {{"DisabledByDefault", on ? 0u : 1u}, {"Enabled", on ? 1u : 0u}}});
}

/// UTF-16LE of ASCII text: everything the fix writes is ASCII.
std::string utf16le(std::string_view ascii) {
  std::string out;
  out.reserve(ascii.size() * 2);
  for (char c : ascii) {
    out += c;
    out += '\0';
  }
  return out;
}

/// A PowerShell single-quoted string: only ' needs doubling.
std::string ps_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

}  // namespace

std::vector<FixKey> fix_keys(const FixOptions& options) {
  std::vector<FixKey> keys;
  add_protocol(keys, Protocol::Tls12, true);
  if (options.disable_legacy) {
    add_protocol(keys, Protocol::Tls10, false);
    add_protocol(keys, Protocol::Tls11, false);
  }
  if (options.disable_tls13) add_protocol(keys, Protocol::Tls13, false);
  for (std::string_view node : {"", "Wow6432Node\\"})
    for (std::string_view version : {"v2.0.50727", "v4.0.30319"})
      keys.push_back({fmt::format("HKEY_LOCAL_MACHINE\\SOFTWARE\\{}Microsoft\\.NETFramework\\{}", node, version),
                      {{"SystemDefaultTlsVersions", 1u}, {"SchUseStrongCrypto", 1u}}});
  std::sort(keys.begin(), keys.end(),
            [](const FixKey& a, const FixKey& b) { return ascii_lower(a.path) < ascii_lower(b.path); });
  return keys;
}

std::string reg_text(const std::vector<FixKey>& keys, std::string_view line_end) {
  std::string text = fmt::format("Windows Registry Editor Version 5.00{0}{0}", line_end);
  for (const auto& key : keys) {
    text += fmt::format("[{}]{}", key.path, line_end);
    for (const auto& v : key.values) text += fmt::format("\"{}\"=dword:{:08x}{}", v.name, v.dword, line_end);
    text += line_end;
  }
  return text;
}

std::string write_reg(const std::vector<FixKey>& keys) { return "\xFF\xFE" + utf16le(reg_text(keys)); }

std::string write_ps1(const std::vector<FixKey>& keys) {
  std::string s;
  auto line = [&s](std::string_view text) {
    s += text;
    s += "\r\n";
  };
  line("# Written by sluice schannel fix: enables TLS 1.2 for Schannel (Client and Server) and makes the");
  line("# .NET Framework use the TLS versions Windows allows. Run in an elevated PowerShell.");
  line("#Requires -RunAsAdministrator");
  line("$ErrorActionPreference = 'Stop'");
  for (const auto& key : keys) {
    // HKEY_LOCAL_MACHINE\X is HKLM:\X for PowerShell's registry provider.
    std::string path = key.path;
    if (path.starts_with("HKEY_LOCAL_MACHINE\\")) path = "HKLM:\\" + path.substr(19);
    line("");
    line(fmt::format("New-Item -Path {} -Force | Out-Null", ps_quote(path)));
    for (const auto& v : key.values)
      line(fmt::format("New-ItemProperty -Path {} -Name {} -Value {} -PropertyType DWord -Force | Out-Null",
                       ps_quote(path), ps_quote(v.name), v.dword));
  }
  line("");
  line("Write-Host 'Done. Restart Windows now: Schannel and the .NET Framework read these values only at start.'");
  return s;
}

}  // namespace sluice::schannel
