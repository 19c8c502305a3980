// `sluice demo`: its command line; the scenario itself is in src/demo/.
#include <fmt/format.h>

#include <filesystem>

#include "cli/command_line.h"
#include "cli/subcommand.h"
#include "demo/interrupt.h"
#include "demo/scenario.h"

namespace sluice::cli {

namespace fs = std::filesystem;

int run_demo(int argc, char** argv) {
  CLI::App app{
      "Reproduce, end to end, the failure between an on-premises server that speaks TLS 1.0 only and\n"
      "Exchange Online (TLS 1.2+): two real `sluice serve` processes on loopback ports, a message from\n"
      "alice@onprem.test to bob@cloud.test, the failed handshake, the plaintext retry refused with\n"
      "451 5.7.3, the queue viewer's 421 4.4.2, the NDR, then the fix (TLS 1.2) and the delivery.\n"
      "Second act, \"the printer\": a TLS 1.0 device submits with AUTH LOGIN, sluice rewrites its sender\n"
      "and delivers to a loopback Exchange Online (Dovecot) that wants TLS 1.2 and AUTH XOAUTH2, the\n"
      "OAuth token from a token endpoint the demo serves (skipped, saying so, without Dovecot).\n"
      "Each step is checked; it takes about 30 seconds. Exit status: 0 when every check passed,\n"
      "1 when one failed, 2 for bad options, 130 when interrupted.",
      "sluice demo"};
  demo::Options options;
  app.add_flag("--keep", options.keep, "keep the work directory (configurations, logs, Maildirs, queue)");
  app.add_option("--work-dir", options.work_dir,
                 "use this new or empty directory instead of a temporary one (removed afterwards unless --keep)");
  if (auto stop = parse_command_line(app, "demo", argc, argv)) return *stop;
  if (!options.work_dir.empty()) {
    // The demo removes its work directory afterwards: never one that holds anything already.
    std::error_code ec;
    auto status = fs::status(options.work_dir, ec);
    if (fs::exists(status) && (!fs::is_directory(status) || !fs::is_empty(options.work_dir, ec))) {
      fmt::print(stderr, "sluice demo: --work-dir {}: not an empty directory; give a new or empty one\n",
                 options.work_dir);
      return kUsage;
    }
  }
  demo::install_interrupt_handlers();
  return demo::run(options);
}

}  // namespace sluice::cli
