// options: the command line of sluice-loadgen, parsed into one value with clear usage errors.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sluice::bench {

/// Which TLS the client negotiates after STARTTLS; `none` stays in plaintext (no STARTTLS).
enum class TlsVersion { none, v1_2, v1_3 };

/// A bad command line: the message names the option and the problem (the caller exits 2).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Everything one run needs. Throughput mode sends messages (`count` or `duration_s`); idle mode
/// (`idle` > 0) opens sessions, finishes STARTTLS and EHLO and holds them for `hold_s` seconds.
struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  unsigned sessions = 1;
  unsigned threads = 1;
  TlsVersion tls = TlsVersion::v1_3;
  std::size_t size = 1024;
  unsigned per_connection = 0;  ///< messages per connection; 0: every message on one connection
  bool connect_only = false;    ///< sessions without mail (connect, STARTTLS, EHLO, QUIT): the handshake rate
  std::optional<std::uint64_t> count;
  std::optional<double> duration_s;
  double warmup_s = 0;  ///< duration mode: messages finished in the first warmup_s seconds are not counted
  std::string from = "loadgen@localhost";
  std::string to = "sink@localhost";
  std::string ehlo = "loadgen.localhost";
  unsigned idle = 0;
  double hold_s = 0;
  unsigned connect_concurrency = 64;  ///< idle mode: sessions being set up at the same time
  std::string ready_file;             ///< idle mode: written once every session is set up
  double timeout_s = 30;              ///< longest wait for one reply or write; a hang is an error
  std::uint64_t max_errors = 100;     ///< stop after this many errors; 0: never
  std::string ack_log;                ///< throughput mode: one line per message the server accepted (ack_log.h)
  bool retry_failed = false;          ///< a message whose session failed is sent again on a new session
  bool json = false;
  bool help = false;
};

/// Parses argv[1..]; throws UsageError for anything it cannot use. `--help` sets `help` and
/// skips the required-option checks.
Options parse_options(const std::vector<std::string>& args);

/// The --help text.
std::string usage_text();

/// "1.3", "1.2" or "none".
std::string to_string(TlsVersion v);

}  // namespace sluice::bench
