#include "schannel/tls_settings.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "base/lookup.h"
#include "base/text.h"
#include "schannel/key_names.h"
#include "schannel/required_updates.h"

namespace sluice::schannel {

namespace {

struct WindowsNames {
  WindowsVersion version;
  std::string_view id;    ///< as given on the command line
  std::string_view name;  ///< as Microsoft's documentation says it
};

constexpr WindowsNames kWindowsVersions[] = {
    {WindowsVersion::Server2008R2, "2008r2", "Windows Server 2008 R2"},
    {WindowsVersion::Server2012R2, "2012r2", "Windows Server 2012 R2"},
    {WindowsVersion::Server2016, "2016", "Windows Server 2016"},
    {WindowsVersion::Server2019, "2019", "Windows Server 2019"},
    {WindowsVersion::Server2022, "2022", "Windows Server 2022"},
};

constexpr Named<Protocol> kProtocolNames[] = {{Protocol::Tls10, "TLS 1.0"},
                                              {Protocol::Tls11, "TLS 1.1"},
                                              {Protocol::Tls12, "TLS 1.2"},
                                              {Protocol::Tls13, "TLS 1.3"}};

struct StateNames {
  State state;
  std::string_view id;    ///< in the JSON report
  std::string_view name;  ///< in sentences
};

constexpr StateNames kStateNames[] = {
    {State::Enabled, "enabled", "enabled"},
    {State::DisabledByDefault, "disabled_by_default", "disabled by default"},
    {State::Disabled, "disabled", "disabled"},
    {State::NotSupported, "not_supported", "not supported"},
};

constexpr Named<Source> kSourceNames[] = {
    {Source::Explicit, "explicit"}, {Source::Default, "default"}, {Source::Mixed, "mixed"}};

}  // namespace

std::optional<WindowsVersion> parse_windows_version(std::string_view text) {
  return lookup(kWindowsVersions, &WindowsNames::id, ascii_lower(text), &WindowsNames::version);
}

std::string_view windows_id(WindowsVersion version) {
  return lookup(kWindowsVersions, &WindowsNames::version, version, &WindowsNames::id).value_or("?");
}

std::string_view windows_name(WindowsVersion version) {
  return lookup(kWindowsVersions, &WindowsNames::version, version, &WindowsNames::name).value_or("?");
}

std::string_view protocol_name(Protocol protocol) { return name_of(kProtocolNames, protocol).value_or("?"); }

std::string_view side_name(Side side) { return side == Side::Client ? "Client" : "Server"; }

std::string protocol_key(Protocol protocol, Side side) {
  return fmt::format("{}\\{}\\{}", kProtocolsKey, protocol_name(protocol), side_name(side));
}

ProtocolDefault documented_default(WindowsVersion version, Protocol protocol, Side) {
  // Microsoft's table has the same answer for both sides on these versions. TLS 1.3 exists
  // only from Server 2022 on, where it is enabled; everything older is enabled on 2012 R2+.
  if (protocol == Protocol::Tls13 && version != WindowsVersion::Server2022) return {false, false, true};
  // 2008 R2 SP1 has TLS 1.1 and 1.2 but leaves them off; DisabledByDefault=0 turns them on
  // (KB3140245's instructions set only that value).
  if (version == WindowsVersion::Server2008R2 && (protocol == Protocol::Tls11 || protocol == Protocol::Tls12))
    return {true, true, true};
  return {true, true, false};
}

std::string_view state_name(State state) {
  return lookup(kStateNames, &StateNames::state, state, &StateNames::name).value_or("?");
}

std::string_view state_id(State state) {
  return lookup(kStateNames, &StateNames::state, state, &StateNames::id).value_or("?");
}

std::string_view source_name(Source source) { return name_of(kSourceNames, source).value_or("?"); }

std::string dword_text(std::uint32_t value) {
  return value <= 9 ? fmt::format("{}", value) : fmt::format("{:#x}", value);
}

std::string_view severity_name(Severity severity) {
  static constexpr Named<Severity> kNames[] = {
      {Severity::Error, "error"}, {Severity::Warning, "warning"}, {Severity::Info, "info"}};
  return name_of(kNames, severity).value_or("?");
}

bool DotNetSetting::inherits_os_defaults() const {
  return system_default_tls_versions == 1u && sch_use_strong_crypto == 1u;
}

const ProtocolSetting& Assessment::setting(Protocol protocol, Side side) const {
  for (const auto& s : protocols)
    if (s.protocol == protocol && s.side == side) return s;
  throw std::logic_error("assessment without this protocol side");
}

bool Assessment::passes() const {
  return std::none_of(problems.begin(), problems.end(), [](const Problem& p) { return p.severity == Severity::Error; });
}

namespace {

constexpr std::string_view kRestart = "then restart Windows";

/// A DWORD value, or nullopt when absent or of another type: Schannel and .NET read only DWORDs
/// (check_key_names reports the others).
std::optional<std::uint32_t> read_dword(const Registry& registry, const std::string& key, std::string_view name) {
  const RegValue* value = registry.find_value(key, name);
  return value ? value->dword() : std::nullopt;
}

ProtocolSetting evaluate(const Registry& registry, WindowsVersion windows, Protocol protocol, Side side) {
  const std::string key = protocol_key(protocol, side);
  ProtocolSetting s{protocol, side, State::Enabled, Source::Default, std::nullopt, std::nullopt};
  s.enabled = read_dword(registry, key, "Enabled");
  s.disabled_by_default = read_dword(registry, key, "DisabledByDefault");
  const ProtocolDefault def = documented_default(windows, protocol, side);
  const bool any = s.enabled || s.disabled_by_default;
  const bool both = s.enabled && s.disabled_by_default;

  if (!def.supported) {
    s.state = State::NotSupported;
    s.source = any ? Source::Explicit : Source::Default;
    return s;
  }
  // Enabled is any non-zero value (0xffffffff included); Enabled=0 wins over everything.
  const bool enabled = s.enabled ? *s.enabled != 0 : def.enabled;
  const bool disabled_by_default = s.disabled_by_default ? *s.disabled_by_default != 0 : def.disabled_by_default;
  if (!enabled) {
    s.state = State::Disabled;
    s.source = s.enabled ? Source::Explicit : Source::Default;
  } else {
    s.state = disabled_by_default ? State::DisabledByDefault : State::Enabled;
    s.source = both ? Source::Explicit : any ? Source::Mixed : Source::Default;
  }
  return s;
}

std::string describe_state(const ProtocolSetting& s) {
  std::string values;
  if (s.enabled) values += fmt::format("Enabled={}", dword_text(*s.enabled));
  if (s.disabled_by_default)
    values += fmt::format("{}DisabledByDefault={}", values.empty() ? "" : ", ", dword_text(*s.disabled_by_default));
  return values.empty() ? fmt::format("{} (default)", state_name(s.state))
                        : fmt::format("{} ({})", state_name(s.state), values);
}

void check_tls12(const Assessment& a, Side side, std::vector<Problem>& problems) {
  const ProtocolSetting& s = a.setting(Protocol::Tls12, side);
  const std::string key = protocol_key(Protocol::Tls12, side);
  const std::string id_side = ascii_lower(side_name(side));
  const std::string consequence = side == Side::Client ? "this server cannot send mail to Exchange Online"
                                                       : "this server cannot receive mail from Exchange Online";
  const std::string fix =
      fmt::format("set DisabledByDefault=0 and Enabled=1 under {} (sluice schannel fix), {}", key, kRestart);
  if (s.state == State::Disabled) {
    problems.push_back({fmt::format("tls12-{}-not-enabled", id_side), Severity::Error,
                        fmt::format("TLS 1.2 {} is disabled{}: {}, which requires TLS 1.2 or later", side_name(side),
                                    s.enabled ? " (Enabled=0)" : "", consequence),
                        fix});
  } else if (s.state == State::DisabledByDefault) {
    problems.push_back({fmt::format("tls12-{}-not-enabled", id_side), Severity::Error,
                        fmt::format("TLS 1.2 {} is disabled by default ({}): Exchange uses the "
                                    "system defaults and so never offers it; {}",
                                    side_name(side),
                                    s.disabled_by_default ? "DisabledByDefault=" + dword_text(*s.disabled_by_default)
                                                          : fmt::format("the {} default", windows_name(a.windows)),
                                    consequence),
                        fix});
  } else if (s.source != Source::Explicit) {
    problems.push_back(
        {fmt::format("tls12-{}-not-explicit", id_side), Severity::Warning,
         fmt::format("TLS 1.2 {} is enabled only by the {} default{}: set it explicitly, as Exchange's "
                     "guidance asks, so that an update or a policy cannot change it silently",
                     side_name(side), windows_name(a.windows),
                     s.source == Source::Mixed ? " (one of Enabled and DisabledByDefault is missing)" : ""),
         fix});
  }
}

void check_agreement(const Assessment& a, std::vector<Problem>& problems) {
  for (Protocol p : kProtocols) {
    const ProtocolSetting& c = a.setting(p, Side::Client);
    const ProtocolSetting& s = a.setting(p, Side::Server);
    if (c.state == s.state || c.state == State::NotSupported) continue;
    problems.push_back({"client-server-mismatch", Severity::Warning,
                        fmt::format("{}: Client is {}, Server is {}; the two halves should agree (this server "
                                    "sends as a client and receives as a server)",
                                    protocol_name(p), describe_state(c), describe_state(s)),
                        fmt::format("give {}\\{}\\Client and \\Server the same values, {}", kProtocolsKey,
                                    protocol_name(p), kRestart)});
  }
}

void check_tls13(const Assessment& a, std::vector<Problem>& problems) {
  const ProtocolSetting& c = a.setting(Protocol::Tls13, Side::Client);
  const ProtocolSetting& s = a.setting(Protocol::Tls13, Side::Server);
  if (c.state == State::NotSupported) {
    bool asked = (c.enabled && *c.enabled != 0) || (s.enabled && *s.enabled != 0);
    if (asked)
      problems.push_back({"tls13-unsupported-windows", Severity::Warning,
                          fmt::format("TLS 1.3 is switched on in the registry, but {} has no supported TLS 1.3; "
                                      "Microsoft calls enabling it there an unsafe configuration",
                                      windows_name(a.windows)),
                          fmt::format("delete the TLS 1.3 keys under {}, {}", kProtocolsKey, kRestart)});
    return;
  }
  if (c.state != State::Enabled && s.state != State::Enabled) return;
  problems.push_back(
      {"tls13-enabled", Severity::Warning,
       fmt::format("TLS 1.3 is enabled (Client: {}; Server: {}): Exchange Server's SMTP does not support TLS 1.3 "
                   "before Exchange Server 2019 CU15, and Exchange's TLS guidance is to disable it there",
                   describe_state(c), describe_state(s)),
       fmt::format("unless this server runs Exchange Server 2019 CU15 or later, set DisabledByDefault=1 and Enabled=0 "
                   "under TLS 1.3\\Client and \\Server (sluice schannel fix --disable-tls13), {}",
                   kRestart)});
}

void check_legacy(const Assessment& a, std::vector<Problem>& problems) {
  std::vector<std::string> on;
  for (Protocol p : {Protocol::Tls10, Protocol::Tls11})
    for (Side side : kSides)
      if (a.setting(p, side).state == State::Enabled)
        on.push_back(fmt::format("{} {}", protocol_name(p), side_name(side)));
  if (on.empty()) return;
  problems.push_back(
      {"legacy-enabled", Severity::Info,
       fmt::format("still enabled: {}. RFC 8996 deprecates TLS 1.0 and 1.1 and Exchange Online "
                   "refuses them; partners that still use them are listed by sluice logscan",
                   fmt::join(on, ", ")),
       fmt::format("once no partner needs them, disable them (sluice schannel fix --disable-legacy), {}", kRestart)});
}

DotNetSetting read_dotnet(const Registry& registry, std::string_view version, bool wow6432,
                          std::vector<Problem>& problems) {
  DotNetSetting d;
  d.version = std::string(version);
  d.wow6432 = wow6432;
  d.key = fmt::format("HKEY_LOCAL_MACHINE\\SOFTWARE\\{}Microsoft\\.NETFramework\\{}", wow6432 ? "Wow6432Node\\" : "",
                      version);
  d.key_present = registry.find_key(d.key) != nullptr;
  d.system_default_tls_versions = read_dword(registry, d.key, "SystemDefaultTlsVersions");
  d.sch_use_strong_crypto = read_dword(registry, d.key, "SchUseStrongCrypto");
  if (d.inherits_os_defaults()) return d;
  auto show = [](const std::optional<std::uint32_t>& v) { return v ? "=" + dword_text(*v) : std::string(" missing"); };
  problems.push_back(
      {"dotnet-not-inheriting", Severity::Warning,
       fmt::format("{}: {}SystemDefaultTlsVersions{}, SchUseStrongCrypto{}: .NET Framework {} ({}) does not use the "
                   "TLS versions Windows allows and may stay on TLS 1.0",
                   d.key, d.key_present ? "" : "key not in the export; ", show(d.system_default_tls_versions),
                   show(d.sch_use_strong_crypto), version == "v4.0.30319" ? "4.x" : "2.0-3.5",
                   wow6432 ? "32-bit" : "64-bit"),
       fmt::format("set SystemDefaultTlsVersions=1 and SchUseStrongCrypto=1 under {} (sluice schannel fix), {}", d.key,
                   kRestart)});
  return d;
}

}  // namespace

Assessment assess(const Registry& registry, WindowsVersion windows) {
  Assessment a;
  a.windows = windows;
  std::vector<Problem> problems;
  for (Protocol p : kProtocols)
    for (Side side : kSides) a.protocols.push_back(evaluate(registry, windows, p, side));
  a.schannel_keys_present = registry.has_subtree(kProtocolsKey);
  a.can_send = a.setting(Protocol::Tls12, Side::Client).state == State::Enabled;
  a.can_receive = a.setting(Protocol::Tls12, Side::Server).state == State::Enabled;

  check_tls12(a, Side::Client, problems);
  check_tls12(a, Side::Server, problems);
  check_agreement(a, problems);
  check_tls13(a, problems);
  for (std::string_view version : {"v4.0.30319", "v2.0.50727"})
    for (bool wow : {false, true}) a.dotnet.push_back(read_dotnet(registry, version, wow, problems));
  check_legacy(a, problems);
  check_key_names(registry, problems);
  check_required_updates(windows, problems);
  if (!a.schannel_keys_present)
    problems.push_back({"no-schannel-keys", Severity::Info,
                        fmt::format("the export has no keys under {}: every protocol answer is the {} default",
                                    kProtocolsKey, windows_name(windows)),
                        "if that is unexpected, export HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\"
                        "SCHANNEL itself (see docs/schannel.md)"});

  std::stable_sort(problems.begin(), problems.end(),
                   [](const Problem& x, const Problem& y) { return x.severity < y.severity; });
  a.problems = std::move(problems);
  return a;
}

}  // namespace sluice::schannel
