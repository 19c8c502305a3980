#include "schannel/report.h"

#include <fmt/format.h>

#include <algorithm>

namespace sluice::schannel {
namespace {

constexpr std::string_view kRestartLine =
    "Restart required: Windows reads these values only when it starts; restart the server after any change.";

std::string optional_dword(const std::optional<std::uint32_t>& v) {
  return v ? dword_text(*v) : std::string("missing");
}

nlohmann::json json_dword(const std::optional<std::uint32_t>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

std::string describe_setting(const ProtocolSetting& s, WindowsVersion windows) {
  if (s.state == State::NotSupported)
    return fmt::format("not supported on {}{}", windows_name(windows),
                       s.source == Source::Default ? "" : " (values ignored)");
  switch (s.source) {
    case Source::Explicit:
      return fmt::format("{} (explicit)", state_name(s.state));
    case Source::Default:
      return fmt::format("{} ({} default)", state_name(s.state), windows_name(windows));
    case Source::Mixed:
      return fmt::format("{} (partly explicit: {}={}, {} from the {} default)", state_name(s.state),
                         s.enabled ? "Enabled" : "DisabledByDefault",
                         dword_text(s.enabled ? *s.enabled : s.disabled_by_default.value_or(0)),
                         s.enabled ? "DisabledByDefault" : "Enabled", windows_name(windows));
  }
  return "?";
}

std::string verdict_text(const Assessment& a) {
  if (a.can_send && a.can_receive) {
    if (a.passes()) return "PASS: this server can send to and receive from Exchange Online over TLS 1.2.";
    // TLS 1.2 works, but not as the export meant it to: a misspelt key or a value Windows ignores.
    auto errors = std::count_if(a.problems.begin(), a.problems.end(),
                                [](const Problem& p) { return p.severity == Severity::Error; });
    return fmt::format(
        "FAIL: TLS 1.2 is usable for sending to and receiving from Exchange Online, but {} error{} above mean{} "
        "the registry does not say what it was written to say.",
        errors, errors == 1 ? "" : "s", errors == 1 ? "s" : "");
  }
  auto why = [&](Side side) {
    return fmt::format("TLS 1.2 {} is {}", side_name(side), state_name(a.setting(Protocol::Tls12, side).state));
  };
  if (!a.can_send && !a.can_receive)
    return fmt::format("FAIL: this server can neither send to nor receive from Exchange Online over TLS 1.2 ({}; {}).",
                       why(Side::Client), why(Side::Server));
  if (!a.can_send)
    return fmt::format("FAIL: this server cannot send to Exchange Online over TLS 1.2 ({}); it can receive from it.",
                       why(Side::Client));
  return fmt::format("FAIL: this server cannot receive from Exchange Online over TLS 1.2 ({}); it can send to it.",
                     why(Side::Server));
}

std::string render_text(const Assessment& a, const ReportContext& context) {
  std::string out;
  out += fmt::format("Schannel audit of {}, as {}{}\n\n", fmt::join(context.files, ", "), windows_name(a.windows),
                     context.windows_assumed
                         ? fmt::format(" (assumed: pass --windows 2008r2|2012r2|2016|2019|2022 if it runs another)")
                         : std::string());

  // The Client column is padded to its widest entry so that the Server column lines up.
  std::size_t width = 0;
  for (Protocol p : kProtocols) width = std::max(width, describe_setting(a.setting(p, Side::Client), a.windows).size());
  out += "Protocols (SCHANNEL)\n";
  for (Protocol p : kProtocols)
    out += fmt::format("  {}  Client: {:<{}}  Server: {}\n", protocol_name(p),
                       describe_setting(a.setting(p, Side::Client), a.windows), width,
                       describe_setting(a.setting(p, Side::Server), a.windows));

  out += "\n.NET Framework (SystemDefaultTlsVersions, SchUseStrongCrypto)\n";
  for (const auto& d : a.dotnet)
    out += fmt::format("  {} {}  SystemDefaultTlsVersions={:<7}  SchUseStrongCrypto={:<7}  {}\n", d.version,
                       d.wow6432 ? "32-bit" : "64-bit", optional_dword(d.system_default_tls_versions),
                       optional_dword(d.sch_use_strong_crypto),
                       d.inherits_os_defaults() ? "inherits the OS defaults" : "does NOT inherit the OS defaults");

  auto count = [&](Severity s) {
    return std::count_if(a.problems.begin(), a.problems.end(), [s](const Problem& p) { return p.severity == s; });
  };
  if (a.problems.empty()) {
    out += "\nProblems: none\n";
  } else {
    auto plural = [](long n, std::string_view word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s"); };
    out += fmt::format("\nProblems ({}, {}, {} info)\n", plural(count(Severity::Error), "error"),
                       plural(count(Severity::Warning), "warning"), count(Severity::Info));
    for (const auto& p : a.problems) {
      std::string label = std::string(severity_name(p.severity));
      for (char& c : label) c = static_cast<char>(c - 'a' + 'A');
      out += fmt::format("  {:<8} [{}] {}\n  {:<8} fix: {}\n", label, p.id, p.message, "", p.fix);
    }
  }
  out += fmt::format("\nVerdict: {}\n{}\n", verdict_text(a), kRestartLine);
  return out;
}

nlohmann::json render_json(const Assessment& a, const ReportContext& context) {
  nlohmann::json protocols = nlohmann::json::array();
  for (const auto& s : a.protocols)
    protocols.push_back({{"protocol", protocol_name(s.protocol)},
                         {"side", s.side == Side::Client ? "client" : "server"},
                         {"state", state_id(s.state)},
                         {"source", source_name(s.source)},
                         {"enabled", json_dword(s.enabled)},
                         {"disabled_by_default", json_dword(s.disabled_by_default)},
                         {"key", protocol_key(s.protocol, s.side)},
                         {"text", describe_setting(s, a.windows)}});
  nlohmann::json dotnet = nlohmann::json::array();
  for (const auto& d : a.dotnet)
    dotnet.push_back({{"version", d.version},
                      {"wow6432node", d.wow6432},
                      {"key", d.key},
                      {"key_present", d.key_present},
                      {"system_default_tls_versions", json_dword(d.system_default_tls_versions)},
                      {"sch_use_strong_crypto", json_dword(d.sch_use_strong_crypto)},
                      {"inherits_os_defaults", d.inherits_os_defaults()}});
  nlohmann::json problems = nlohmann::json::array();
  for (const auto& p : a.problems)
    problems.push_back({{"id", p.id},
                        {"severity", severity_name(p.severity)},
                        {"blocks_exchange_online", p.severity == Severity::Error},
                        {"message", p.message},
                        {"fix", p.fix}});
  return {{"files", context.files},
          {"windows", windows_id(a.windows)},
          {"windows_name", windows_name(a.windows)},
          {"windows_assumed", context.windows_assumed},
          {"schannel_keys_present", a.schannel_keys_present},
          {"protocols", protocols},
          {"dotnet", dotnet},
          {"problems", problems},
          {"verdict",
           {{"passes", a.passes()},
            {"can_send_to_exchange_online", a.can_send},
            {"can_receive_from_exchange_online", a.can_receive},
            {"text", verdict_text(a)},
            {"restart_required_after_change", true}}}};
}

}  // namespace sluice::schannel
