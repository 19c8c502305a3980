#include "cli/command_line.h"

#include <fmt/format.h>

namespace sluice::cli {

int usage_error(std::string_view command, std::string_view message, int status) {
  fmt::print(stderr, "sluice {}: {} (see 'sluice {} --help')\n", command, message, command);
  return status;
}

std::optional<int> parse_command_line(CLI::App& app, std::string_view command, int argc, char** argv, int status) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage_error(command, e.what(), status);
  }
  return std::nullopt;
}

}  // namespace sluice::cli
