// The demo's second act, "the printer": a device whose TLS stops at 1.0 submits with AUTH LOGIN
// to sluice's device connector; sluice rewrites its made-up sender and delivers through a
// loopback "Exchange Online" that wants TLS 1.2 and OAuth 2.0 (AUTH XOAUTH2): Dovecot submission
// with the oauth2 passdb, its token introspection and the token endpoint served by the demo.
#pragma once
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "demo/narrator.h"

namespace sluice::demo {

namespace fs = std::filesystem;

/// Why Dovecot's submission service cannot run here (not installed), or nullopt.
std::optional<std::string> dovecot_unavailable();

class PrinterAct {
 public:
  /// `exe` is the sluice binary; the act works in `work`/printer.
  PrinterAct(Narrator& out, fs::path exe, const fs::path& work, int first_step);
  ~PrinterAct();  ///< stops whatever still runs: gateways, Dovecot, the HTTP endpoints
  PrinterAct(const PrinterAct&) = delete;
  PrinterAct& operator=(const PrinterAct&) = delete;

  /// Runs the act's steps; throws StepFailed when one cannot go on (or Interrupted).
  void run();
  /// The last lines of what its servers logged, after a failure.
  void diagnostics();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace sluice::demo
