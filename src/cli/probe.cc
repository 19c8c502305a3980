// `sluice probe`: what TLS does that mail server really speak, and what does it mean for mail
// with Exchange Online. Never sends a message; every session ends with QUIT.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <sstream>

#include "cli/command_line.h"
#include "cli/subcommand.h"
#include "mta_sts/policy_fetch.h"
#include "net/dns.h"
#include "probe/report.h"
#include "probe/runner.h"
#include "probe/verdict.h"

namespace sluice::cli {
namespace {

constexpr int kPass = 0;
constexpr int kFail = 1;

struct ProbeOptions {
  std::vector<std::string> targets;
  std::vector<std::string> mx_domains;
  std::string file;
  std::uint16_t port = 25;
  bool implicit_tls = false;
  bool json = false;
  bool csv = false;
  std::string profile = "exchange-online";
  std::string ca_file;
  std::vector<std::string> dns_servers;
  int parallel = 32;
  int per_host = 8;
  int host_delay_ms = 0;
  int retries = 2;
  int retry_delay_ms = 1000;
  double connect_timeout = 5, banner_timeout = 15, command_timeout = 10, handshake_timeout = 10;
  std::string helo = "probe.sluice.invalid";
  bool no_ciphers = false;
  std::string colour = "auto";
  bool no_policy = false;
  std::uint16_t mta_sts_port = 443;
  std::vector<std::string> dnssec_trusted;
};

int probe_usage_error(std::string_view message) { return cli::usage_error("probe", message); }

/// "probe: 3 of 40 targets done (2 pass)" on stderr, rewritten in place; only on a terminal, so
/// that logs and pipes get no carriage returns.
class ProbeProgress {
 public:
  ProbeProgress(std::size_t total, bool on) : total_(total), on_(on) { show(); }
  void finished(bool pass) {
    ++done_;
    passed_ += pass ? 1 : 0;
    show();
  }
  /// Takes the line away before something else is written to the terminal.
  void clear() {
    if (!on_) return;
    fmt::print(stderr, "\r\033[K");
    std::fflush(stderr);
  }

 private:
  void show() {
    if (!on_ || done_ == total_) return;
    fmt::print(stderr, "\r\033[Kprobe: {} of {} target{} done ({} pass)", done_, total_, total_ == 1 ? "" : "s",
               passed_);
    std::fflush(stderr);
  }

  std::size_t total_, done_ = 0, passed_ = 0;
  bool on_;
};

std::chrono::milliseconds seconds(double s) { return std::chrono::milliseconds(static_cast<long>(s * 1000)); }

/// The --mx domains' MTA-STS, DANE and TLS-RPT, looked up on their own threads while the hosts are
/// probed (a policy fetch can take as long as a probe), then matched against what the hosts presented.
class DomainPolicyChecks {
 public:
  DomainPolicyChecks(const ProbeOptions& o, const probe::RunSettings& settings)
      : dns_(settings.dns_servers,
             o.dnssec_trusted.empty() ? std::nullopt : std::optional<std::vector<std::string>>(o.dnssec_trusted),
             settings.dns_timeout),
        fetch_(mta_sts::https_policy_fetcher(dns_, {.ca_file = o.ca_file, .port = o.mta_sts_port})),
        port_(o.port),
        https_port_(o.mta_sts_port) {}
  void start(const std::string& domain) {
    pending_.push_back(std::async(std::launch::async, [this, domain] {
      return probe::look_up_domain_policy(domain, port_, dns_, fetch_, https_port_);
    }));
  }
  std::vector<probe::DomainPolicy> finish(const std::vector<probe::Assessment>& results) {
    std::vector<probe::DomainPolicy> out;
    for (auto& p : pending_) {
      out.push_back(p.get());
      probe::note_presented_certificates(out.back(), results);
      probe::judge_domain_policy(out.back());
    }
    pending_.clear();
    return out;
  }

 private:
  net::Resolver dns_;
  mta_sts::PolicyFetcher fetch_;
  std::uint16_t port_, https_port_;
  std::vector<std::future<probe::DomainPolicy>> pending_;
};

}  // namespace

int run_probe(int argc, char** argv) {
  CLI::App app{
      "Find out what TLS an SMTP server really speaks, and whether it can exchange mail with Exchange Online.\n"
      "\n"
      "  sluice probe [options] TARGET...    TARGET: host, host:port, [host]:port, [2001:db8::1]:25\n"
      "  sluice probe --mx example.org       every MX host of the domain, by preference\n"
      "  sluice probe --file hosts.txt       targets one a line (# comments)\n"
      "\n"
      "Port 25 and 587 use STARTTLS, 465 implicit TLS (--implicit-tls forces it). For each target: the\n"
      "greeting, EHLO capabilities, STARTTLS, whether mail is refused before STARTTLS (MAIL FROM:<> then\n"
      "RSET; no message is ever sent), the STARTTLS command injection test, TLS 1.0/1.1/1.2/1.3 each on\n"
      "its own connection with the server's alert when refused, every cipher suite accepted per version\n"
      "and whose order counts, the certificates (names, dates, keys, signatures, trust, name match), and\n"
      "verdicts against the profiles exchange-online and modern (RFC 8996), with reasons.\n"
      "\n"
      "With --mx also each domain's MTA-STS (TXT record, policy, MX hosts in it), DANE (DNSSEC of the MX\n"
      "answer, TLSA records of each host against the certificate it presents) and TLS-RPT, with verdicts.\n"
      "\n"
      "Exit status: 0 every target passes --profile and no --mx domain has a policy problem, 1 otherwise\n"
      "(or a target could not be assessed), 2 usage.",
      "sluice probe"};
  ProbeOptions o;
  app.add_option("targets", o.targets, "servers to probe");
  app.add_option("--mx", o.mx_domains, "probe every MX host of this domain (repeatable)");
  app.add_option("-f,--file", o.file, "read targets from this file, one a line");
  app.add_option("-p,--port", o.port, "port for targets without one and for --mx hosts (default 25)");
  app.add_flag("--implicit-tls", o.implicit_tls, "TLS from the first byte (as port 465) instead of STARTTLS");
  app.add_flag("--json", o.json, "JSON output (schema sluice-probe/1, docs/probe.md)");
  app.add_flag("--csv", o.csv, "CSV output, one row per finding");
  app.add_option("--profile", o.profile, "profile deciding the exit status: exchange-online (default) or modern");
  app.add_option("--ca-file", o.ca_file, "trust only the CAs in this PEM file (default: the system trust store)");
  app.add_option("--dns-server", o.dns_servers, "DNS server (ip or ip:port) instead of /etc/resolv.conf");
  app.add_option("--parallel", o.parallel, "targets probed at once (default 32)")->check(CLI::Range(1, 10000));
  app.add_option("--per-host", o.per_host, "connections at once to one server, address and port (default 8)")
      ->check(CLI::Range(1, 64));
  app.add_option("--host-delay", o.host_delay_ms, "milliseconds between connections to one server (default 0)")
      ->check(CLI::Range(0, 600000));
  app.add_option("--retries", o.retries, "retries of a connection refused with 421, dropped or timed out (default 2)")
      ->check(CLI::Range(0, 10));
  app.add_option("--retry-delay", o.retry_delay_ms, "milliseconds before the first retry, growing (default 1000)")
      ->check(CLI::Range(0, 600000));
  app.add_option("--connect-timeout", o.connect_timeout, "seconds (default 5)")->check(CLI::PositiveNumber);
  app.add_option("--banner-timeout", o.banner_timeout, "seconds to wait for the greeting (default 15)")
      ->check(CLI::PositiveNumber);
  app.add_option("--command-timeout", o.command_timeout, "seconds per reply (default 10)")->check(CLI::PositiveNumber);
  app.add_option("--handshake-timeout", o.handshake_timeout, "seconds per TLS handshake (default 10)")
      ->check(CLI::PositiveNumber);
  app.add_option("--helo", o.helo, "name sent with EHLO (default probe.sluice.invalid)");
  app.add_flag("--no-ciphers", o.no_ciphers, "skip the cipher suite enumeration (versions and certificates only)");
  app.add_option("--colour,--color", o.colour, "auto (default: when stdout is a terminal), always, never");
  app.add_flag("--no-policy", o.no_policy, "with --mx: skip the MTA-STS, DANE and TLS-RPT checks");
  app.add_option("--dnssec-trusted", o.dnssec_trusted,
                 "resolver whose AD bit counts as DNSSEC-validated (repeatable; default: loopback --dns-server)");
  app.add_option("--mta-sts-port", o.mta_sts_port, "port of the MTA-STS policy hosts (default 443; for tests)")
      ->check(CLI::Range(1, 65535));

  if (auto stop = parse_command_line(app, "probe", argc, argv)) return *stop;
  if (o.json && o.csv) return probe_usage_error("--json and --csv exclude each other");
  if (!probe::known_profile(o.profile)) return probe_usage_error(fmt::format("unknown profile '{}'", o.profile));
  if (o.colour != "auto" && o.colour != "always" && o.colour != "never")
    return probe_usage_error("--colour takes auto, always or never");

  probe::RunSettings settings;
  settings.parallel = o.parallel;
  settings.per_host = o.per_host;
  settings.host_delay = std::chrono::milliseconds(o.host_delay_ms);
  settings.timeouts = {seconds(o.connect_timeout), seconds(o.banner_timeout), seconds(o.command_timeout),
                       seconds(o.handshake_timeout)};
  settings.helo = o.helo;
  settings.dns_servers = o.dns_servers;
  settings.plan.retries = o.retries;
  settings.plan.retry_delay = std::chrono::milliseconds(o.retry_delay_ms);
  settings.plan.enumerate_suites = !o.no_ciphers;
  settings.plan.parallel_parts = std::max(1, o.per_host / 2);
  settings.plan.ca_file = o.ca_file;

  std::vector<probe::Target> targets;
  std::vector<std::string> errors;
  for (const auto& text : o.targets) {
    auto t = probe::parse_target(text, o.implicit_tls);
    if (!t) return probe_usage_error(t.error().message);
    // A target without a port takes --port (the parser defaults to 25).
    if (text.find(':') == std::string::npos || (text.front() == '[' && text.back() == ']')) {
      t->port = o.port;
      t->mode = (o.implicit_tls || o.port == 465) ? probe::TlsMode::Implicit : probe::TlsMode::StartTls;
    }
    targets.push_back(std::move(*t));
  }
  if (!o.file.empty()) {
    std::ifstream in(o.file, std::ios::binary);
    if (!in) return probe_usage_error(fmt::format("cannot read {}", o.file));
    std::stringstream text;
    text << in.rdbuf();
    auto more = probe::parse_target_list(text.str(), o.file, o.implicit_tls, errors);
    if (!errors.empty()) return probe_usage_error(errors.front());
    targets.insert(targets.end(), more.begin(), more.end());
  }
  int exit_status = kPass;
  try {
    std::optional<DomainPolicyChecks> policies;
    if (!o.no_policy && !o.mx_domains.empty()) policies.emplace(o, settings);
    for (const auto& domain : o.mx_domains) {
      auto hosts = probe::expand_mx(domain, o.port, o.implicit_tls, settings);
      if (hosts) {
        targets.insert(targets.end(), hosts->begin(), hosts->end());
        if (policies) policies->start(domain);
      } else {
        fmt::print(stderr, "sluice probe: {}\n", hosts.error().message);
        exit_status = kFail;
      }
    }
    if (targets.empty()) {
      if (exit_status == kFail) return kFail;
      return probe_usage_error("no target given");
    }
    bool colour = o.colour == "always" || (o.colour == "auto" && isatty(STDOUT_FILENO));
    bool text = !o.json && !o.csv;
    ProbeProgress progress(targets.size(), isatty(STDERR_FILENO));
    // A run over many servers takes as long as the slowest one: each result is shown as soon as
    // it is known (text: one line; JSON and CSV are one document, written at the end).
    auto results = probe::run_probes(targets, settings, [&](std::size_t, const probe::Assessment& a) {
      const auto* v = probe::verdict_for(a, o.profile);
      progress.clear();
      if (text) {
        fmt::print("{}\n", probe::summary_line(a, o.profile, colour));
        std::fflush(stdout);
      }
      progress.finished(v && v->pass);
    });
    progress.clear();
    for (const auto& a : results) {
      const auto* v = probe::verdict_for(a, o.profile);
      if (!v || !v->pass) exit_status = kFail;
    }
    auto domains = policies ? policies->finish(results) : std::vector<probe::DomainPolicy>{};
    // A published policy that makes senders refuse or defer mail fails the run like a failing
    // target: `--mx` is how monitoring watches a domain, and that is what it must hear of.
    bool policies_pass = std::all_of(domains.begin(), domains.end(), [](const auto& d) { return d.pass(); });
    if (!policies_pass) exit_status = kFail;
    if (o.json) {
      auto report = probe::json_report(results, o.profile);
      report["domains"] = probe::domains_json(domains);
      report["policy_pass"] = policies_pass;
      fmt::print("{}\n", report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    } else if (o.csv) {
      fmt::print("{}{}", probe::csv_report(results), probe::domain_csv_rows(domains));
    } else {
      fmt::print("\n{}", probe::text_report(results, o.profile, colour));
      if (!domains.empty()) fmt::print("\n{}", probe::domain_text_report(domains, colour));
    }
  } catch (const std::exception& e) {
    return probe_usage_error(e.what());
  }
  return exit_status;
}

}  // namespace sluice::cli
