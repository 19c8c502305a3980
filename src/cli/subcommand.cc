#include "cli/subcommand.h"

namespace sluice::cli {

std::span<const Subcommand> subcommands() {
  static const Subcommand table[] = {
      {"serve", "run the mail gateway: receive connectors with explicit TLS policy, durable spool, "
                "local delivery, Exchange-format protocol log",
       run_serve},
  };
  return table;
}

}  // namespace sluice::cli
