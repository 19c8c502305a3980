#include "options.h"

#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace sluice::bench {
namespace {

std::uint64_t parse_unsigned(const std::string& opt, const std::string& text, std::uint64_t min, std::uint64_t max) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    throw UsageError(fmt::format("{}: '{}' is not a whole number", opt, text));
  if (v < min || v > max) throw UsageError(fmt::format("{}: {} is not in {}..{}", opt, v, min, max));
  return v;
}

double parse_seconds(const std::string& opt, const std::string& text, double min, double max) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(v))
    throw UsageError(fmt::format("{}: '{}' is not a number of seconds", opt, text));
  if (v < min || v > max) throw UsageError(fmt::format("{}: {} is not in {}..{} seconds", opt, text, min, max));
  return v;
}

// Sizes are octets, optionally with k (KiB) or m (MiB), so the benchmark can say "100k".
std::size_t parse_size(const std::string& opt, const std::string& text) {
  std::string digits = text;
  std::uint64_t unit = 1;
  if (!digits.empty() && (digits.back() == 'k' || digits.back() == 'K')) {
    unit = 1024;
    digits.pop_back();
  } else if (!digits.empty() && (digits.back() == 'm' || digits.back() == 'M')) {
    unit = 1024 * 1024;
    digits.pop_back();
  }
  constexpr std::uint64_t max = 64ull * 1024 * 1024;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size())
    throw UsageError(fmt::format("{}: '{}' is not a size (octets, or with k or m)", opt, text));
  if (v == 0 || v > max / unit) throw UsageError(fmt::format("{}: {} is not in 1..64m", opt, text));
  return v * unit;
}

// An address goes between < and > in MAIL/RCPT: anything that would break the command line is refused.
std::string parse_address(const std::string& opt, const std::string& text) {
  if (text.empty() || text.size() > 254)
    throw UsageError(fmt::format("{}: an address of 1..254 characters is needed", opt));
  for (unsigned char c : text)
    if (c <= ' ' || c >= 0x7f || c == '<' || c == '>')
      throw UsageError(fmt::format("{}: '{}' contains a space, control character, '<' or '>'", opt, text));
  if (text.find('@') == std::string::npos) throw UsageError(fmt::format("{}: '{}' has no '@'", opt, text));
  return text;
}

std::string parse_word(const std::string& opt, const std::string& text) {
  if (text.empty() || text.size() > 255)
    throw UsageError(fmt::format("{}: a name of 1..255 characters is needed", opt));
  for (unsigned char c : text)
    if (c <= ' ' || c >= 0x7f) throw UsageError(fmt::format("{}: '{}' is not one word of printable ASCII", opt, text));
  return text;
}

}  // namespace

std::string to_string(TlsVersion v) {
  switch (v) {
    case TlsVersion::none:
      return "none";
    case TlsVersion::v1_2:
      return "1.2";
    case TlsVersion::v1_3:
      return "1.3";
  }
  return "?";
}

std::string usage_text() {
  return R"(sluice-loadgen: an SMTP load generator with STARTTLS, for benchmarking a server on loopback.

Throughput:  sluice-loadgen --port P (--count M | --duration S) [options]
Idle memory: sluice-loadgen --port P --idle N --hold S [--ready-file F] [options]

  --host ADDR            server address (default 127.0.0.1)
  --port P               server port (required)
  --sessions N           concurrent sessions (default 1)
  --threads T            client threads, one io_context each (default 1: leave the CPU to the server)
  --tls 1.2|1.3|none     STARTTLS with exactly this version, or plaintext (default 1.3); certificates are not verified
  --size BYTES           message size before dot-stuffing, e.g. 1024, 100k (default 1024)
  --per-connection K     messages per connection, then QUIT and reconnect; 0: all on one connection (default 0)
  --connect-only         no mail: connect, STARTTLS, EHLO, QUIT, again (--count/--duration count sessions)
  --count M              send M messages in total
  --duration S           send for S seconds (decimals allowed)
  --warmup S             with --duration: messages finished in the first S seconds are not counted
  --from ADDR            MAIL FROM (default loadgen@localhost)
  --to ADDR              RCPT TO (default sink@localhost)
  --ehlo NAME            EHLO name (default loadgen.localhost)
  --idle N               open N sessions (STARTTLS and EHLO done) and keep them idle
  --hold S               idle mode: how long to hold them once all are open
  --connect-concurrency C  idle mode: sessions set up at the same time (default 64)
  --ready-file F         idle mode: write "ready <open> <failed>" to F once every session is set up
  --timeout S            longest wait for one reply (default 30)
  --max-errors E         stop after E errors, 0 never (default 100)
  --retry-failed         a message whose session failed (no 250 for it) is sent again, same Message-ID,
                         on a new session, as a client with a queue would; it is not a new message, and
                         it is retried after --count or --duration is over too (until --max-errors)
  --ack-log F            write one line per accepted message to F: Message-ID, ms since the start,
                         attempt (1 unless retried) and the server's final reply, tab-separated
  --json                 print the result as one JSON object
  -h, --help             this text

Every message has a Message-ID of its own (the run's random id and a sequence number). The summary
counts failed sessions and the time from the first failure to the last (the failure window).
Latency is the time from sending the end-of-data dot to the final reply. Every reply is checked; an
unexpected one is an error (shown with its text), never throughput. Exit status: 0 without errors,
1 with errors, 2 for a bad command line.
)";
}

Options parse_options(const std::vector<std::string>& args) {
  Options o;
  bool port_given = false, warmup_given = false, hold_given = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& opt = args[i];
    if (opt == "-h" || opt == "--help") {
      o.help = true;
      return o;
    }
    if (opt == "--json") {
      o.json = true;
      continue;
    }
    if (opt == "--connect-only") {
      o.connect_only = true;
      continue;
    }
    if (opt == "--retry-failed") {
      o.retry_failed = true;
      continue;
    }
    if (opt.rfind("--", 0) != 0) throw UsageError(fmt::format("unexpected argument '{}'", opt));
    if (i + 1 >= args.size()) throw UsageError(fmt::format("{}: a value is needed", opt));
    const std::string& v = args[++i];
    constexpr auto u32max = std::numeric_limits<std::uint32_t>::max();
    if (opt == "--host") {
      o.host = parse_word(opt, v);
    } else if (opt == "--port") {
      o.port = static_cast<std::uint16_t>(parse_unsigned(opt, v, 1, 65535));
      port_given = true;
    } else if (opt == "--sessions") {
      o.sessions = static_cast<unsigned>(parse_unsigned(opt, v, 1, 100000));
    } else if (opt == "--threads") {
      o.threads = static_cast<unsigned>(parse_unsigned(opt, v, 1, 256));
    } else if (opt == "--tls") {
      if (v == "1.3")
        o.tls = TlsVersion::v1_3;
      else if (v == "1.2")
        o.tls = TlsVersion::v1_2;
      else if (v == "none")
        o.tls = TlsVersion::none;
      else
        throw UsageError(fmt::format("--tls: '{}' is not one of 1.2, 1.3, none", v));
    } else if (opt == "--size") {
      o.size = parse_size(opt, v);
    } else if (opt == "--per-connection") {
      o.per_connection = static_cast<unsigned>(parse_unsigned(opt, v, 0, u32max));
    } else if (opt == "--count") {
      o.count = parse_unsigned(opt, v, 1, std::numeric_limits<std::uint64_t>::max() / 2);
    } else if (opt == "--duration") {
      o.duration_s = parse_seconds(opt, v, 0.001, 86400);
    } else if (opt == "--warmup") {
      o.warmup_s = parse_seconds(opt, v, 0, 3600);
      warmup_given = true;
    } else if (opt == "--from") {
      o.from = parse_address(opt, v);
    } else if (opt == "--to") {
      o.to = parse_address(opt, v);
    } else if (opt == "--ehlo") {
      o.ehlo = parse_word(opt, v);
    } else if (opt == "--idle") {
      o.idle = static_cast<unsigned>(parse_unsigned(opt, v, 1, 1000000));
    } else if (opt == "--hold") {
      o.hold_s = parse_seconds(opt, v, 0, 86400);
      hold_given = true;
    } else if (opt == "--connect-concurrency") {
      o.connect_concurrency = static_cast<unsigned>(parse_unsigned(opt, v, 1, 100000));
    } else if (opt == "--ready-file") {
      if (v.empty()) throw UsageError("--ready-file: a path is needed");
      o.ready_file = v;
    } else if (opt == "--ack-log") {
      if (v.empty()) throw UsageError("--ack-log: a path is needed");
      o.ack_log = v;
    } else if (opt == "--timeout") {
      o.timeout_s = parse_seconds(opt, v, 0.001, 86400);
    } else if (opt == "--max-errors") {
      o.max_errors = parse_unsigned(opt, v, 0, std::numeric_limits<std::uint64_t>::max());
    } else {
      throw UsageError(fmt::format("unknown option '{}' (see --help)", opt));
    }
  }

  if (!port_given) throw UsageError("--port is required");
  if ((o.idle > 0 || o.connect_only) && (o.retry_failed || !o.ack_log.empty()))
    throw UsageError("--retry-failed and --ack-log are about messages: not with --idle or --connect-only");
  if (o.idle > 0) {
    if (!hold_given) throw UsageError("--idle needs --hold");
    if (o.count || o.duration_s || warmup_given || o.connect_only)
      throw UsageError(
          "--idle holds sessions without mail: --count, --duration, --warmup and --connect-only do not apply");
  } else {
    if (hold_given || !o.ready_file.empty()) throw UsageError("--hold and --ready-file need --idle");
    if (o.count.has_value() == o.duration_s.has_value()) throw UsageError("give exactly one of --count and --duration");
    if (o.connect_only && o.per_connection)
      throw UsageError("--connect-only sends no mail: --per-connection does not apply");
    if (warmup_given && !o.duration_s) throw UsageError("--warmup needs --duration");
    if (o.duration_s && o.warmup_s >= *o.duration_s) throw UsageError("--warmup must be shorter than --duration");
    if (o.count && *o.count < o.sessions)
      throw UsageError(
          fmt::format("--count {} is below --sessions {}: some sessions would never send", *o.count, o.sessions));
  }
  if (o.threads > std::max(o.sessions, o.idle))
    throw UsageError(fmt::format("--threads {} is more than the sessions to spread over them", o.threads));
  return o;
}

}  // namespace sluice::bench
