// `sluice demo`: the failure this project exists for, end to end with two real gateways on
// loopback, narrated with the artefacts an administrator would look at, and checked at every step
// (exit 0 only when everything behaved as narrated). The scenario is the reference's section 1:
// an on-premises server whose TLS stack speaks TLS 1.0 at most sends to Exchange Online, which
// accepts TLS 1.2+ only and requires TLS from that partner.
#pragma once
#include <string>

namespace sluice::demo {

inline constexpr int kFailed = 1;
inline constexpr int kInterrupted = 130;

struct Options {
  bool keep = false;     ///< keep the work directory afterwards
  std::string work_dir;  ///< new or empty; a temporary directory when empty
};

/// Runs the whole story, printing it to stdout. 0 when every check passed, kFailed when one
/// failed, kInterrupted after SIGINT or SIGTERM (install_interrupt_handlers() first).
int run(const Options& options);

}  // namespace sluice::demo
