// sluice: an SMTP gateway and toolkit for mail flow that TLS policy broke.
#include <fmt/core.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include <cstring>
#include <string_view>

#include "cli/build_info.h"
#include "cli/subcommand.h"

namespace {

// Also the source of sluice(8) (help2man, scripts/make-man) and of the bash completion's command
// list (scripts/make-bash-completion): keep the "Usage:" and "Commands:" shapes.
void usage(std::FILE* out) {
  fmt::print(out,
             "Usage: sluice <command> [options]\n"
             "  or:  sluice <command> --help\n"
             "  or:  sluice --version\n\n"
             "An SMTP gateway and toolkit for mail flow between servers that disagree on TLS.\n\n"
             "Commands:\n");
  for (const auto& s : sluice::cli::subcommands()) fmt::print(out, "  {:<12} {}\n", s.name, s.summary);
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
    fmt::print("{}", sluice::cli::version_text(sluice::cli::kBuildVersion, sluice::cli::kBuildRevision,
                                               OpenSSL_version(OPENSSL_VERSION), OPENSSL_VERSION_TEXT));
    return 0;
  }
  for (const auto& s : sluice::cli::subcommands())
    if (s.name == name) return s.run(argc - 1, argv + 1);
  fmt::print(stderr, "sluice: unknown command '{}' (see 'sluice --help')\n", name);
  return 2;
}
