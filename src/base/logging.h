// Operator-facing diagnostics on stderr (not the protocol log, which is protocol_log/).
#pragma once
#include <fmt/core.h>
#include <string_view>

namespace sluice {

enum class Severity { Info, Warning, Error };

/// Writes one line "2026-11-27T03:00:00Z sluice[pid]: warning: text" to stderr.
void log_line(Severity severity, std::string_view text);

template <typename... Args>
void log_info(fmt::format_string<Args...> f, Args&&... args) {
  log_line(Severity::Info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_warning(fmt::format_string<Args...> f, Args&&... args) {
  log_line(Severity::Warning, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_error(fmt::format_string<Args...> f, Args&&... args) {
  log_line(Severity::Error, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace sluice
