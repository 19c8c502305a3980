// The table of sluice's subcommands: one entry each, dispatched by name from main().
#pragma once
#include <span>
#include <string_view>

namespace sluice::cli {

struct Subcommand {
  std::string_view name;
  std::string_view summary;
  /// Runs with argv[0] being the subcommand's name; returns the exit status.
  int (*run)(int argc, char** argv);
};

/// Every subcommand, in the order `sluice --help` lists them.
std::span<const Subcommand> subcommands();

int run_serve(int argc, char** argv);
/// `sluice check`: the configuration check (src/cli/check.cc).
int run_check(int argc, char** argv);
int run_demo(int argc, char** argv);
/// `sluice queue`: the queue viewer (src/cli/queue.cc).
int run_queue(int argc, char** argv);
/// `sluice probe`: the TLS assessment of SMTP servers (src/cli/probe.cc).
int run_probe(int argc, char** argv);
/// `sluice logscan`: TLS 1.0/1.1 peers and TLS failures in Exchange, Postfix and sluice logs (src/cli/logscan.cc).
int run_logscan(int argc, char** argv);
/// `sluice track`: search the message tracking log (src/cli/track.cc).
int run_track(int argc, char** argv);
/// `sluice tlsrpt`: summarise TLS-RPT reports other senders mailed us (src/cli/tlsrpt.cc).
int run_tlsrpt(int argc, char** argv);
/// `sluice schannel`: audit a registry export for TLS 1.2 with Exchange Online, write the fix (src/cli/schannel.cc).
int run_schannel(int argc, char** argv);
/// `sluice user`: the SMTP AUTH users file: add, passwd, remove, list (src/cli/user.cc).
int run_user(int argc, char** argv);
/// `sluice oauth-token`: fetch one XOAUTH2 token for a send connector and show its claims (src/cli/oauth_token.cc).
int run_oauth_token(int argc, char** argv);

}  // namespace sluice::cli
