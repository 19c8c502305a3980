// sluice: an SMTP gateway and toolkit for mail flow that TLS policy broke.
#include <fmt/core.h>

#include <cstring>
#include <string_view>

#include "cli/subcommand.h"

namespace {

void usage(std::FILE* out) {
  fmt::print(out,
             "sluice: an SMTP gateway and toolkit for mail flow between servers that disagree on TLS\n\n"
             "Usage: sluice <command> [options]\n       sluice <command> --help\n\nCommands:\n");
  for (const auto& s : sluice::cli::subcommands()) fmt::print(out, "  {:<11} {}\n", s.name, s.summary);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    usage(stdout);
    return 0;
  }
  if (name == "--version") {
    fmt::print("sluice 0.1.0\n");
    return 0;
  }
  for (const auto& s : sluice::cli::subcommands())
    if (s.name == name) return s.run(argc - 1, argv + 1);
  fmt::print(stderr, "sluice: unknown command '{}' (see 'sluice --help')\n", name);
  return 2;
}
