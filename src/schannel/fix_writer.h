// The fix for what `sluice schannel check` finds: the registry values Microsoft's articles ask
// for, written as a .reg file regedit imports or as a PowerShell script that sets the same values.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::schannel {

struct FixOptions {
  bool disable_legacy = false;  ///< also turn TLS 1.0 and 1.1 off on both sides
  bool disable_tls13 = false;   ///< also turn TLS 1.3 off (Exchange before 2019 CU15 on Server 2022)
};

struct FixValue {
  std::string name;
  std::uint32_t dword;
};

struct FixKey {
  std::string path;  ///< HKEY_LOCAL_MACHINE\...
  std::vector<FixValue> values;
};

/// The keys and DWORD values to set, in the order regedit would export them (keys sorted by
/// path, ignoring case): TLS 1.2 Client and Server on, the .NET Framework v2.0.50727 and
/// v4.0.30319 values (native and Wow6432Node), and what the options add.
std::vector<FixKey> fix_keys(const FixOptions& options);

/// The text of the .reg file, before its UTF-16LE encoding, lines ended by `line_end`: what a
/// terminal shows instead of the file's bytes.
std::string reg_text(const std::vector<FixKey>& keys, std::string_view line_end = "\r\n");

/// A .reg file exactly as regedit writes one: UTF-16LE with a BOM, CRLF line ends,
/// "Windows Registry Editor Version 5.00", a blank line before each key and at the end,
/// DWORDs as dword:%08x.
std::string write_reg(const std::vector<FixKey>& keys);

/// A PowerShell script (ASCII, CRLF) that creates each key (New-Item -Force) and sets each value
/// (New-ItemProperty -PropertyType DWord -Force), then reminds the administrator to restart.
std::string write_ps1(const std::vector<FixKey>& keys);

}  // namespace sluice::schannel
