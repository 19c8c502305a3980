// What every subcommand does with its command line: parse it, print help, or report a usage
// error in one format and stop with one status.
#pragma once
#include <CLI/CLI.hpp>

#include <optional>
#include <string_view>

namespace sluice::cli {

/// Exit statuses every subcommand shares: done, failed (or found a problem), and a command line
/// that cannot be used.
inline constexpr int kOk = 0;
inline constexpr int kFailed = 1;
inline constexpr int kUsage = 2;

/// Prints "sluice COMMAND: MESSAGE (see 'sluice COMMAND --help')" on stderr; returns `status`.
int usage_error(std::string_view command, std::string_view message, int status = kUsage);

/// Parses argv into `app`. Returns the exit status when the subcommand must stop here (0 after
/// --help; `status` after a usage error, reported by usage_error), nullopt to go on.
std::optional<int> parse_command_line(CLI::App& app, std::string_view command, int argc, char** argv,
                                      int status = kUsage);

}  // namespace sluice::cli
