// What Windows will do with TLS, given the registry: the effective Schannel protocol settings
// (explicit values, else the documented default of the Windows version), the .NET Framework
// values, and the problems that stop mail flowing to and from Exchange Online.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schannel/reg_file.h"

namespace sluice::schannel {

/// Server 2008 R2 is Exchange 2010's usual host: TLS 1.1 and 1.2 are there but off by default.
enum class WindowsVersion { Server2008R2, Server2012R2, Server2016, Server2019, Server2022 };

/// "2008r2", "2012r2", "2016", "2019", "2022" (any case); nullopt otherwise.
std::optional<WindowsVersion> parse_windows_version(std::string_view text);
/// The --windows spelling: "2008r2", "2012r2", "2016", ...
std::string_view windows_id(WindowsVersion version);
/// "Windows Server 2008 R2", "Windows Server 2012 R2", ...
std::string_view windows_name(WindowsVersion version);

enum class Protocol { Tls10, Tls11, Tls12, Tls13 };
enum class Side { Client, Server };
inline constexpr Protocol kProtocols[] = {Protocol::Tls10, Protocol::Tls11, Protocol::Tls12, Protocol::Tls13};
inline constexpr Side kSides[] = {Side::Client, Side::Server};

/// "TLS 1.2": also the name of the key under SCHANNEL\Protocols.
std::string_view protocol_name(Protocol protocol);
/// "Client" or "Server": also the name of the subkey.
std::string_view side_name(Side side);
/// HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Client
std::string protocol_key(Protocol protocol, Side side);
/// HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols
inline constexpr std::string_view kProtocolsKey =
    "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols";

/// What Windows does for a protocol side when the registry says nothing ("Protocols in TLS/SSL
/// (Schannel SSP)": TLS 1.0-1.2 enabled on Server 2012 R2 to 2022; on 2008 R2 SP1 only TLS 1.0,
/// TLS 1.1 and 1.2 there but disabled by default; TLS 1.3 only on 2022).
struct ProtocolDefault {
  bool supported = false;
  bool enabled = false;
  bool disabled_by_default = true;
};
ProtocolDefault documented_default(WindowsVersion version, Protocol protocol, Side side);

enum class State {
  Enabled,            ///< Windows offers and accepts it
  DisabledByDefault,  ///< only for applications that ask for it by name (Exchange does not)
  Disabled,           ///< Enabled=0: no application can use it
  NotSupported,       ///< this Windows version has no implementation (TLS 1.3 before 2022)
};
std::string_view state_name(State state);  ///< "enabled", "disabled by default", ...
std::string_view state_id(State state);    ///< "enabled", "disabled_by_default", ... (JSON)

enum class Source {
  Explicit,  ///< decided by values in the registry
  Default,   ///< decided by the documented default (no values)
  Mixed,     ///< one value explicit, the other from the default
};
std::string_view source_name(Source source);  ///< "explicit", "default", "mixed"

/// A DWORD as an administrator reads it: 0 and 1 in decimal, others (0xffffffff) in hex.
std::string dword_text(std::uint32_t value);

/// One protocol side: the answer and where it came from.
struct ProtocolSetting {
  Protocol protocol;
  Side side;
  State state;
  Source source;
  std::optional<std::uint32_t> enabled;              ///< the Enabled DWORD, when present
  std::optional<std::uint32_t> disabled_by_default;  ///< the DisabledByDefault DWORD, when present
};

/// One .NET Framework key (v4.0.30319 or v2.0.50727, native or Wow6432Node).
struct DotNetSetting {
  std::string version;  ///< "v4.0.30319" or "v2.0.50727"
  bool wow6432 = false;
  std::string key;
  bool key_present = false;
  std::optional<std::uint32_t> system_default_tls_versions;
  std::optional<std::uint32_t> sch_use_strong_crypto;
  /// Both values are 1: .NET uses the TLS versions the OS allows, TLS 1.2 included.
  bool inherits_os_defaults() const;
};

enum class Severity {
  Error,    ///< blocks mail flow with Exchange Online over TLS 1.2: `check` exits 1
  Warning,  ///< works today but is fragile or against Exchange's guidance
  Info,
};
std::string_view severity_name(Severity severity);  ///< "error", "warning", "info"

struct Problem {
  std::string id;  ///< stable identifier, documented in docs/schannel.md
  Severity severity;
  std::string message;
  std::string fix;  ///< what to do about it, one sentence
};

struct Assessment {
  WindowsVersion windows;
  std::vector<ProtocolSetting> protocols;  ///< TLS 1.0 Client, TLS 1.0 Server, ..., TLS 1.3 Server
  std::vector<DotNetSetting> dotnet;       ///< v4 native, v4 Wow6432Node, v2 native, v2 Wow6432Node
  std::vector<Problem> problems;           ///< errors first, then warnings, then info
  bool can_send = false;                   ///< TLS 1.2 Client usable: can send to Exchange Online
  bool can_receive = false;                ///< TLS 1.2 Server usable: can receive from Exchange Online
  bool schannel_keys_present = false;      ///< the export holds anything under SCHANNEL\Protocols

  const ProtocolSetting& setting(Protocol protocol, Side side) const;
  /// No error: the server can send to and receive from Exchange Online over TLS 1.2.
  bool passes() const;
};

/// The effective settings and problems for `registry` on `windows`.
Assessment assess(const Registry& registry, WindowsVersion windows);

}  // namespace sluice::schannel
