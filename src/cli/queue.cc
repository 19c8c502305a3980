// `sluice queue`: the queue viewer. Asks the running gateway over its control socket
// (<state_dir>/control.sock); when none runs, `list` and `show` read the spool on disk instead
// (read-only), while `retry` and `remove` refuse, since only the gateway may change the queue.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "base/text.h"
#include "cli/command_line.h"
#include "cli/subcommand.h"
#include "config/config.h"
#include "control/control_socket.h"
#include "queue/queue_view.h"
#include "queue/spool.h"

namespace sluice::cli {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using std::chrono::system_clock;

struct QueueOptions {
  std::string config_file;
  std::string state_dir;
  bool json = false;
  std::string domain;
  std::string status;
  std::string id;
  bool all = false;
  bool bounce = false;
};

/// A failure to report on stderr with an exit status.
struct Failure {
  int status;
  std::string message;
};

void print_error(const std::string& message) { fmt::print(stderr, "sluice queue: {}\n", message); }

void print_json(const Json& value) { fmt::print("{}\n", value.dump(2, ' ', false, Json::error_handler_t::replace)); }

/// --state-dir, else the configuration's state_dir, else the default one (as `sluice serve`).
fs::path state_dir_of(const QueueOptions& options) {
  if (!options.state_dir.empty()) return options.state_dir;
  try {
    config::Config cfg =
        options.config_file.empty() ? config::default_config() : config::load_config(options.config_file);
    return cfg.state_dir;
  } catch (const std::exception& e) {
    throw Failure{kUsage, e.what()};
  }
}

/// What the gateway said, or why it said nothing.
struct Reply {
  std::optional<Json> answer;
  control::RequestError why = control::RequestError::None;
  std::string error;
};

Reply ask(const fs::path& state_dir, const Json& request) {
  Reply reply;
  reply.answer = control::request(state_dir / "control.sock", request, &reply.error, &reply.why);
  return reply;
}

/// The gateway's answer when it says "ok"; its error (exit 1) otherwise.
const Json& ok_answer(const Json& answer) {
  auto ok = answer.find("ok");
  if (ok != answer.end() && *ok == true) return answer;
  auto error = answer.find("error");
  throw Failure{kFailed, error != answer.end() && error->is_string() ? error->get<std::string>()
                                                                     : "the gateway refused the request"};
}

[[noreturn]] void unexpected_answer(const std::string& what) {
  throw Failure{kFailed, fmt::format("unexpected answer from the gateway: {}", what)};
}

/// One line on stderr before showing the spool instead of the gateway's view.
void announce_fallback(const fs::path& state_dir, const Reply& reply) {
  if (reply.why == control::RequestError::NotRunning)
    print_error(fmt::format("no gateway is running on {}; showing the spool on disk", state_dir.string()));
  else
    print_error(fmt::format("{}; showing the spool on disk", reply.error));
}

/// The spool directory, checked to exist: reading must never create it.
fs::path spool_dir(const fs::path& state_dir) {
  fs::path dir = state_dir / "queue";
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Failure{kFailed,
                  fmt::format("there is no queue at {} (is the state directory right? see --state-dir)", dir.string())};
  return dir;
}

std::vector<queue::Envelope> read_spool(const fs::path& state_dir) {
  fs::path dir = spool_dir(state_dir);
  try {
    queue::Spool spool(dir);
    std::vector<queue::Envelope> envelopes;
    for (const auto& id : spool.list()) {
      if (auto envelope = spool.load_envelope(id))
        envelopes.push_back(std::move(*envelope));
      else
        print_error(
            fmt::format("{} cannot be read (malformed or another format); skipped", (dir / (id + ".json")).string()));
    }
    return envelopes;
  } catch (const std::exception& e) {
    throw Failure{kFailed, fmt::format("cannot read the queue at {}: {}", dir.string(), e.what())};
  }
}

queue::Envelope read_spooled_message(const fs::path& state_dir, const std::string& id) {
  fs::path dir = spool_dir(state_dir);
  try {
    queue::Spool spool(dir);
    if (auto envelope = spool.load_envelope(id)) return *envelope;
  } catch (const std::exception& e) {
    throw Failure{kFailed, fmt::format("cannot read the queue at {}: {}", dir.string(), e.what())};
  }
  std::error_code ec;
  if (fs::exists(dir / (id + ".json"), ec))
    throw Failure{kFailed,
                  fmt::format("{} cannot be read (malformed or another format)", (dir / (id + ".json")).string())};
  throw Failure{kFailed, fmt::format("no message {} in the queue", id)};
}

void check_id(const std::string& id) {
  if (!queue::valid_queue_id(id))
    throw Failure{kUsage,
                  fmt::format("\"{}\" is not a queue id (1 to 64 letters and digits, e.g. 0005F1A2B3C40001)", id)};
}

int list(const fs::path& state_dir, const QueueOptions& options) {
  std::string status = options.status;
  if (!status.empty()) {
    std::string lower = ascii_lower(status);
    if (lower != "ready" && lower != "retry" && lower != "active")
      throw Failure{kUsage, fmt::format("--status \"{}\": use Ready, Retry or Active", status)};
  }
  std::vector<queue::HopRow> rows;
  auto now = system_clock::now();
  std::string source = "gateway";
  Json loading;
  Reply reply = ask(state_dir, {{"command", "list"}, {"domain", options.domain}, {"status", options.status}});
  if (reply.answer) {
    const Json& answer = ok_answer(*reply.answer);
    auto hops = answer.find("hops");
    auto parsed = hops == answer.end() ? std::nullopt : queue::hop_rows_from_json(*hops);
    if (!parsed) unexpected_answer("no valid \"hops\"");
    rows = std::move(*parsed);
    auto when = answer.find("now");
    if (when != answer.end() && when->is_string())
      if (auto t = queue::parse_utc_time(when->get<std::string>())) now = *t;  // the gateway's clock
    if (auto it = answer.find("loading"); it != answer.end() && it->is_object()) loading = *it;
  } else {
    announce_fallback(state_dir, reply);
    source = "spool";
    rows = queue::hop_rows(read_spool(state_dir), {options.domain, options.status}, {}, now);
  }
  if (options.json) {
    Json out = {{"source", source}, {"now", queue::format_utc_time(now)}, {"hops", queue::hop_rows_json(rows)}};
    if (!loading.is_null()) out["loading"] = loading;
    print_json(out);
    return kOk;
  }
  if (!loading.is_null())
    fmt::print(
        "The gateway is still reading its spool after a restart ({} of {} messages): the list is not complete yet.\n",
        loading.value("read", 0), loading.value("total", 0));
  if (rows.empty() && (!options.domain.empty() || !options.status.empty())) {
    fmt::print("No queued messages match.\n");
  } else {
    fmt::print("{}", queue::render_hop_rows(rows, now));
  }
  return kOk;
}

int show(const fs::path& state_dir, const QueueOptions& options) {
  check_id(options.id);
  auto now = system_clock::now();
  queue::Envelope envelope;
  Reply reply = ask(state_dir, {{"command", "show"}, {"id", options.id}});
  if (reply.answer) {
    const Json& answer = ok_answer(*reply.answer);
    auto message = answer.find("message");
    auto parsed = message == answer.end() ? std::nullopt : queue::message_from_json(*message);
    if (!parsed) unexpected_answer("no valid \"message\"");
    envelope = std::move(*parsed);
  } else {
    announce_fallback(state_dir, reply);
    envelope = read_spooled_message(state_dir, options.id);
  }
  if (options.json)
    print_json(queue::message_json(envelope));
  else
    fmt::print("{}", queue::render_message(envelope, now));
  return kOk;
}

/// retry and remove change the queue: only the gateway may, so without one they fail.
Json ask_gateway_to_change(const fs::path& state_dir, const Json& request, std::string_view what) {
  Reply reply = ask(state_dir, request);
  if (!reply.answer) {
    if (reply.why == control::RequestError::NotRunning)
      throw Failure{kFailed, fmt::format("no gateway is running on {}; {} needs the running gateway "
                                         "(start it with 'sluice serve')",
                                         state_dir.string(), what)};
    throw Failure{kFailed, reply.error};
  }
  return ok_answer(*reply.answer);
}

int retry(const fs::path& state_dir, const QueueOptions& options) {
  int chosen = !options.id.empty() + !options.domain.empty() + options.all;
  if (chosen != 1) throw Failure{kUsage, "retry: give exactly one of ID, --domain DOMAIN or --all"};
  Json request = {{"command", "retry"}};
  if (!options.id.empty()) {
    check_id(options.id);
    request["id"] = options.id;
  } else if (!options.domain.empty()) {
    request["domain"] = options.domain;
  }
  Json answer = ask_gateway_to_change(state_dir, request, "retry");
  auto retried = answer.find("retried");
  if (retried == answer.end() || !retried->is_number_integer()) unexpected_answer("no \"retried\" count");
  if (options.json) {
    print_json(answer);
  } else {
    auto n = retried->get<long long>();
    fmt::print("{} message{} scheduled for immediate retry.\n", n, n == 1 ? "" : "s");
  }
  return kOk;
}

int remove(const fs::path& state_dir, const QueueOptions& options) {
  check_id(options.id);
  Json answer = ask_gateway_to_change(
      state_dir, {{"command", "remove"}, {"id", options.id}, {"bounce", options.bounce}}, "remove");
  if (options.json)
    print_json(answer);
  else
    fmt::print("Removed {}{}.\n", options.id,
               options.bounce ? "; a non-delivery report goes to the sender" : " without a non-delivery report");
  return kOk;
}

}  // namespace

int run_queue(int argc, char** argv) {
  CLI::App app{
      "Show and steer the queue of outbound mail, grouped by next hop as Exchange's Queue Viewer does.\n"
      "\n"
      "  sluice queue list [--json] [--domain D] [--status S]\n"
      "      one row per next hop: NEXT HOP, STATUS (Ready: due now; Retry: waiting after a failure;\n"
      "      Active: being delivered), MESSAGES, NEXT RETRY and LAST ERROR (the reply of the latest\n"
      "      attempt, e.g. \"421 4.4.2 Connection dropped due to SocketError\", never shortened)\n"
      "  sluice queue show ID [--json]       one message: sender, origin, TLS, each recipient's state\n"
      "  sluice queue retry ID | --domain D | --all\n"
      "                                      try now instead of waiting for the next retry\n"
      "  sluice queue remove ID [--bounce]   delete a message; --bounce sends the sender an NDR\n"
      "\n"
      "It asks the running gateway through the control socket <state_dir>/control.sock (owner only).\n"
      "When no gateway runs there, list and show read the spool <state_dir>/queue directly (read-only)\n"
      "and say so on stderr; retry and remove fail, since only the gateway changes the queue.\n"
      "The state directory is --state-dir, else state_dir of --config, else the default (as serve).\n"
      "Exit status: 0 done, 1 the operation failed (no gateway, no such message), 2 usage error.",
      "sluice queue"};
  QueueOptions options;
  app.fallthrough();  // `sluice queue list --state-dir X` as well as `sluice queue --state-dir X list`
  app.require_subcommand(1);
  app.add_option("-c,--config", options.config_file, "TOML configuration file whose state_dir to use");
  app.add_option("-s,--state-dir", options.state_dir, "the gateway's state directory (overrides the configuration)");

  auto* list_cmd = app.add_subcommand("list", "messages waiting, grouped by next hop");
  list_cmd->add_flag("--json", options.json, "print JSON: {\"source\":\"gateway\"|\"spool\",\"now\",\"hops\":[...]}");
  list_cmd->add_option("--domain", options.domain, "only recipients whose next hop or domain is D");
  list_cmd->add_option("--status", options.status, "only next hops with this status: Ready, Retry or Active");

  auto* show_cmd = app.add_subcommand("show", "one message in detail");
  show_cmd->add_option("id", options.id, "queue id (16 hex digits, as in the 250 reply and the logs)")->required();
  show_cmd->add_flag("--json", options.json, "print JSON");

  auto* retry_cmd = app.add_subcommand("retry", "retry now: one message, one domain's or next hop's, or all");
  retry_cmd->add_option("id", options.id, "queue id");
  retry_cmd->add_option("--domain", options.domain, "every message waiting for this domain or next hop");
  retry_cmd->add_flag("--all", options.all, "every waiting message");
  retry_cmd->add_flag("--json", options.json, "print the gateway's JSON answer");

  auto* remove_cmd = app.add_subcommand("remove", "delete a message from the queue");
  remove_cmd->add_option("id", options.id, "queue id")->required();
  remove_cmd->add_flag("--bounce", options.bounce, "send the sender a non-delivery report for it");
  remove_cmd->add_flag("--json", options.json, "print the gateway's JSON answer");

  if (auto stop = parse_command_line(app, "queue", argc, argv)) return *stop;

  try {
    fs::path state_dir = state_dir_of(options);
    if (list_cmd->parsed()) return list(state_dir, options);
    if (show_cmd->parsed()) return show(state_dir, options);
    if (retry_cmd->parsed()) return retry(state_dir, options);
    return remove(state_dir, options);
  } catch (const Failure& failure) {
    print_error(failure.message);
    return failure.status;
  } catch (const std::exception& e) {
    print_error(e.what());
    return kFailed;
  }
}

}  // namespace sluice::cli
