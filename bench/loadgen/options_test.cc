#include "options.h"

#include <gtest/gtest.h>

namespace sluice::bench {
namespace {

Options parse(std::vector<std::string> args) { return parse_options(args); }

std::string usage_error(std::vector<std::string> args) {
  try {
    parse_options(args);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Options, ThroughputRun) {
  Options o = parse({"--port", "2525", "--sessions", "32", "--tls", "1.2", "--size", "100k", "--per-connection", "1",
                     "--duration", "2.5", "--warmup", "0.5", "--json"});
  EXPECT_EQ(o.port, 2525);
  EXPECT_EQ(o.sessions, 32u);
  EXPECT_EQ(o.tls, TlsVersion::v1_2);
  EXPECT_EQ(o.size, 102400u);
  EXPECT_EQ(o.per_connection, 1u);
  EXPECT_DOUBLE_EQ(*o.duration_s, 2.5);
  EXPECT_DOUBLE_EQ(o.warmup_s, 0.5);
  EXPECT_FALSE(o.count.has_value());
  EXPECT_TRUE(o.json);
}

TEST(Options, Defaults) {
  Options o = parse({"--port", "25", "--count", "10"});
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_EQ(o.tls, TlsVersion::v1_3);
  EXPECT_EQ(o.size, 1024u);
  EXPECT_EQ(o.threads, 1u);
  EXPECT_EQ(o.per_connection, 0u);
  EXPECT_EQ(*o.count, 10u);
}

TEST(Options, IdleRun) {
  Options o = parse({"--port", "25", "--idle", "1000", "--hold", "10", "--ready-file", "/tmp/r"});
  EXPECT_EQ(o.idle, 1000u);
  EXPECT_DOUBLE_EQ(o.hold_s, 10);
  EXPECT_EQ(o.ready_file, "/tmp/r");
}

TEST(Options, ConnectOnly) {
  Options o = parse({"--port", "25", "--connect-only", "--duration", "5", "--sessions", "16"});
  EXPECT_TRUE(o.connect_only);
  EXPECT_EQ(usage_error({"--port", "25", "--connect-only", "--count", "5", "--per-connection", "1"}),
            "--connect-only sends no mail: --per-connection does not apply");
}

TEST(Options, Sizes) {
  EXPECT_EQ(parse({"--port", "1", "--count", "1", "--size", "1m"}).size, 1048576u);
  EXPECT_EQ(parse({"--port", "1", "--count", "1", "--size", "2K"}).size, 2048u);
  EXPECT_EQ(usage_error({"--port", "1", "--count", "1", "--size", "0"}), "--size: 0 is not in 1..64m");
  EXPECT_EQ(usage_error({"--port", "1", "--count", "1", "--size", "65m"}), "--size: 65m is not in 1..64m");
  EXPECT_EQ(usage_error({"--port", "1", "--count", "1", "--size", "k"}),
            "--size: 'k' is not a size (octets, or with k or m)");
}

TEST(Options, BadInputIsAUsageError) {
  EXPECT_EQ(usage_error({"--count", "1"}), "--port is required");
  EXPECT_EQ(usage_error({"--port", "0", "--count", "1"}), "--port: 0 is not in 1..65535");
  EXPECT_EQ(usage_error({"--port", "70000", "--count", "1"}), "--port: 70000 is not in 1..65535");
  EXPECT_EQ(usage_error({"--port", "x25", "--count", "1"}), "--port: 'x25' is not a whole number");
  EXPECT_EQ(usage_error({"--port", "25"}), "give exactly one of --count and --duration");
  EXPECT_EQ(usage_error({"--port", "25", "--count", "1", "--duration", "1"}),
            "give exactly one of --count and --duration");
  EXPECT_EQ(usage_error({"--port", "25", "--count", "1", "--tls", "1.1"}), "--tls: '1.1' is not one of 1.2, 1.3, none");
  EXPECT_EQ(usage_error({"--port", "25", "--count", "1", "--warmup", "1"}), "--warmup needs --duration");
  EXPECT_EQ(usage_error({"--port", "25", "--duration", "1", "--warmup", "1"}),
            "--warmup must be shorter than --duration");
  EXPECT_EQ(usage_error({"--port", "25", "--duration", "-1"}), "--duration: -1 is not in 0.001..86400 seconds");
  EXPECT_EQ(usage_error({"--port", "25", "--duration", "nan"}), "--duration: 'nan' is not a number of seconds");
  EXPECT_EQ(usage_error({"--port", "25", "--count", "4", "--sessions", "8"}),
            "--count 4 is below --sessions 8: some sessions would never send");
  EXPECT_EQ(usage_error({"--port", "25", "--count", "8", "--sessions", "2", "--threads", "3"}),
            "--threads 3 is more than the sessions to spread over them");
  EXPECT_EQ(usage_error({"--port", "25", "--count", "1", "--bogus", "1"}), "unknown option '--bogus' (see --help)");
  EXPECT_EQ(usage_error({"--port", "25", "--count"}), "--count: a value is needed");
  EXPECT_EQ(usage_error({"--port", "25", "--count", "1", "stray"}), "unexpected argument 'stray'");
}

TEST(Options, AddressesMustNotBreakTheCommandLine) {
  EXPECT_EQ(usage_error({"--port", "25", "--count", "1", "--to", "a b@x"}),
            "--to: 'a b@x' contains a space, control character, '<' or '>'");
  EXPECT_EQ(usage_error({"--port", "25", "--count", "1", "--from", "a>@x"}),
            "--from: 'a>@x' contains a space, control character, '<' or '>'");
  EXPECT_EQ(usage_error({"--port", "25", "--count", "1", "--from", "nobody"}), "--from: 'nobody' has no '@'");
  EXPECT_EQ(usage_error({"--port", "25", "--count", "1", "--ehlo", "two words"}),
            "--ehlo: 'two words' is not one word of printable ASCII");
}

TEST(Options, IdleModeRules) {
  EXPECT_EQ(usage_error({"--port", "25", "--idle", "10"}), "--idle needs --hold");
  EXPECT_EQ(usage_error({"--port", "25", "--idle", "10", "--hold", "1", "--count", "5"}),
            "--idle holds sessions without mail: --count, --duration, --warmup and --connect-only do not apply");
  EXPECT_EQ(usage_error({"--port", "25", "--idle", "10", "--hold", "1", "--connect-only"}),
            "--idle holds sessions without mail: --count, --duration, --warmup and --connect-only do not apply");
  EXPECT_EQ(usage_error({"--port", "25", "--count", "5", "--hold", "1"}), "--hold and --ready-file need --idle");
}

TEST(Options, RetryAndAckLog) {
  Options o = parse({"--port", "25", "--duration", "3", "--retry-failed", "--ack-log", "/tmp/acks"});
  EXPECT_TRUE(o.retry_failed);
  EXPECT_EQ(o.ack_log, "/tmp/acks");
  Options plain = parse({"--port", "25", "--count", "1"});
  EXPECT_FALSE(plain.retry_failed);
  EXPECT_EQ(plain.ack_log, "");
  EXPECT_EQ(usage_error({"--port", "25", "--count", "1", "--ack-log", ""}), "--ack-log: a path is needed");
  const std::string no_messages = "--retry-failed and --ack-log are about messages: not with --idle or --connect-only";
  EXPECT_EQ(usage_error({"--port", "25", "--idle", "5", "--hold", "1", "--retry-failed"}), no_messages);
  EXPECT_EQ(usage_error({"--port", "25", "--connect-only", "--count", "5", "--ack-log", "/tmp/a"}), no_messages);
}

TEST(Options, HelpSkipsRequiredChecks) {
  EXPECT_TRUE(parse({"--help"}).help);
  EXPECT_TRUE(parse({"--tls", "1.2", "--help"}).help);  // no --port, yet no error
}

}  // namespace
}  // namespace sluice::bench
