#include "cli/subcommand.h"

namespace sluice::cli {

std::span<const Subcommand> subcommands() {
  static const Subcommand table[] = {
      {"serve",
       "run the mail gateway: receive connectors with explicit TLS policy, durable spool, "
       "local delivery, Exchange-format protocol log",
       run_serve},
      {"check",
       "load the configuration, certificates and secrets as serve would, change nothing, show the effective "
       "connectors and TLS, or every problem",
       run_check},
      {"queue", "show the outbound queue by next hop (as Exchange's Queue Viewer), retry or remove messages",
       run_queue},
      {"probe",
       "what TLS an SMTP server really speaks (versions, suites, certificate, STARTTLS) and an "
       "Exchange Online verdict",
       run_probe},
      {"track", "where is the message from X to Y: search the message tracking log", run_track},
      {"logscan", "find peers still on TLS 1.0/1.1 and TLS failures in Exchange, Postfix and sluice logs", run_logscan},
      {"tlsrpt", "summarise the TLS-RPT reports other senders mailed us: who fails to reach us by TLS, and why",
       run_tlsrpt},
      {"schannel", "audit a Windows registry export for TLS 1.2 with Exchange Online, and write the fix", run_schannel},
      {"user", "maintain the SMTP AUTH users file: add, passwd, remove, list (passwords stored as crypt hashes)",
       run_user},
      {"oauth-token",
       "fetch one OAuth 2.0 token for a send connector with XOAUTH2 and show what it is for (never the token)",
       run_oauth_token},
      {"demo", "reproduce TLS 1.0 vs Exchange Online end to end with two gateways on loopback, then the fix", run_demo},
  };
  return table;
}

}  // namespace sluice::cli
