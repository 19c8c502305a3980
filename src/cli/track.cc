// `sluice track`: where is the message from X to Y. Searches the message tracking log the gateway
// writes (docs/message-tracking.md), or any directory of MSGTRK files (Exchange's too).
#include <fmt/format.h>

#include <chrono>
#include <filesystem>

#include "cli/command_line.h"
#include "cli/subcommand.h"
#include "config/config.h"
#include "logscan/timestamp.h"
#include "tracking/search.h"

namespace sluice::cli {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

struct TrackOptions {
  std::string config_file, state_dir, dir;
  std::string sender, recipient, id, since;
  bool json = false;
};

int track_error(std::string_view message) {
  fmt::print(stderr, "sluice track: {}\n", message);
  return kUsage;
}

/// --dir, else the configuration's message tracking directory (as `sluice serve` writes it).
Result<fs::path> tracking_dir_of(const TrackOptions& o) {
  if (!o.dir.empty()) return fs::path(o.dir);
  try {
    config::Config cfg = o.config_file.empty() ? config::default_config() : config::load_config(o.config_file);
    if (!o.state_dir.empty()) cfg.state_dir = o.state_dir;
    return config::message_tracking_dir(cfg);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

/// "2026-12-07", "2026-12-07T11:00" (UTC), or a duration back from now: "30m", "2h", "1h30m".
std::optional<system_clock::time_point> since_time(const std::string& text) {
  if (auto ago = config::parse_duration(text)) return system_clock::now() - *ago;
  // system_clock counts nanoseconds in 64 bits: a date past 2262 would overflow, and is refused.
  const auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(system_clock::duration::max()).count();
  if (auto t = logscan::parse_time_argument(text); t && *t<limit&& * t> - limit)
    return system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(std::chrono::milliseconds(*t)));
  return std::nullopt;
}

}  // namespace

int run_track(int argc, char** argv) {
  CLI::App app{
      "Where is the message from X to Y: search the message tracking log.\n"
      "\n"
      "  sluice track [--sender A] [--recipient B] [--id ID] [--since T] [--json]\n"
      "\n"
      "Prints each matching message with its path through the gateway: RECEIVE, then SEND (next\n"
      "hop, TLS version, the next hop's \"queued as\" id), DELIVER, DEFER (with the reason), FAIL\n"
      "and the DSN sent back. Filters combine (all must match); addresses match exactly or, as\n"
      "@domain, by domain, without case. The log directory is --dir, else message_tracking.dir of\n"
      "the configuration, else <state_dir>/logs/MessageTracking.\n"
      "Exit status: 0 messages found, 1 none, 2 usage error or a log that cannot be read.",
      "sluice track"};
  TrackOptions o;
  app.add_option("--sender", o.sender, "MAIL FROM address, or @domain");
  app.add_option("--recipient", o.recipient, "recipient address, or @domain");
  app.add_option("--id", o.id, "queue id, Message-ID, or the next hop's \"queued as\" id");
  app.add_option(
      "--since", o.since,
      "only messages with an event at or after this UTC time (2026-12-07T11:00) or this long ago (2h, 1h30m)");
  app.add_option("--dir", o.dir, "message tracking log directory (MSGTRK*.LOG files)");
  app.add_option("-c,--config", o.config_file, "TOML configuration file whose message tracking directory to use");
  app.add_option("-s,--state-dir", o.state_dir, "the gateway's state directory (overrides the configuration)");
  app.add_flag("--json", o.json, "print JSON (schema in docs/message-tracking.md)");
  if (auto stop = parse_command_line(app, "track", argc, argv)) return *stop;

  tracking::Query query{o.sender, o.recipient, o.id, std::nullopt};
  if (!o.since.empty()) {
    query.since = since_time(o.since);
    if (!query.since)
      return usage_error("track",
                         fmt::format("--since {}: not a time (use 2026-12-07, 2026-12-07T11:00 or 2h)", o.since));
  }
  auto dir = tracking_dir_of(o);
  if (!dir) return track_error(dir.error().message);
  auto records = tracking::read_log_dir(*dir);
  if (!records) return track_error(records.error().message);
  auto messages = tracking::find_messages(*records, query);
  if (o.json) {
    fmt::print("{}\n", tracking::render_json(messages).dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  } else if (messages.empty()) {
    fmt::print(stderr, "sluice track: no message matches in {}\n", dir->string());
  } else {
    fmt::print("{}", tracking::render_text(messages));
  }
  return messages.empty() ? kFailed : kOk;
}

}  // namespace sluice::cli
