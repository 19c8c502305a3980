// `sluice queue`: the queue viewer. Asks the running gateway over its control socket
// (<state_dir>/control.sock), which filters its queue and answers with what matched; when no
// gateway runs, `list` and `show` read the spool on disk instead (read-only) and answer the same
// requests in this process, while `retry` and `remove` refuse, since only the gateway may change
// the queue. Changes that match more than one message are confirmed first.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "base/access_problem.h"
#include "base/text.h"
#include "cli/command_line.h"
#include "cli/node_drain.h"
#include "cli/queue_fleet.h"
#include "cli/queue_move.h"
#include "cli/subcommand.h"
#include "config/config.h"
#include "control/control_socket.h"
#include "demo/process.h"
#include "queue/control_protocol.h"
#include "queue/drain_control.h"
#include "queue/message_rows.h"
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
  std::string id;
  bool all = false;
  bool bounce = false;  // --bounce / --no-bounce; why no bounce by default: docs/queue.md
  bool yes = false;
  bool messages = false;
  std::size_t limit = queue::kMessagesPerPage;
  // The filters, as given; filter_of() checks them.
  std::string hop, domain, sender, recipient, status, older_than;
  // drain
  std::string deadline;
  bool wait = false;
  // The fleet view (cli/queue_fleet.h): several --state-dir, or a fleet file.
  std::vector<std::string> state_dirs;
  std::string fleet_file;
  std::string move_to;  // move --to HOST:PORT
};

/// A failure to report on stderr with an exit status.
struct Failure {
  int status;
  std::string message;
};

void print_error(const std::string& message) { fmt::print(stderr, "sluice queue: {}\n", message); }

void print_json(const Json& value) { fmt::print("{}\n", value.dump(2, ' ', false, Json::error_handler_t::replace)); }

std::string plural(std::size_t n, std::string_view word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s"); }

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

queue::QueueFilter filter_of(const QueueOptions& options) {
  queue::QueueFilter filter;
  filter.hop = ascii_lower(options.hop);
  filter.domain = ascii_lower(options.domain);
  filter.sender = options.sender;
  filter.recipient = options.recipient;
  if (!options.status.empty()) {
    auto status = queue::parse_status(options.status);
    if (!status) throw Failure{kUsage, "--status " + status.error().message};
    filter.status = *status;
  }
  if (!options.older_than.empty()) {
    auto age = queue::parse_age(options.older_than);
    if (!age) throw Failure{kUsage, "--older-than " + age.error().message};
    filter.older_than = *age;
  }
  return filter;
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

/// The spool directory, checked to exist and to be readable by us: reading must never create it,
/// and a directory we may not read must not look like an empty queue.
fs::path spool_dir(const fs::path& state_dir) {
  fs::path dir = state_dir / "queue";
  if (std::string problem = access_problem(dir, R_OK | X_OK, "read"); !problem.empty())
    throw Failure{kFailed, fmt::format("cannot read the queue at {}: {}", dir.string(), problem)};
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Failure{kFailed,
                  fmt::format("there is no queue at {} (is the state directory right? see --state-dir)", dir.string())};
  return dir;
}

/// An envelope that did not load: a file we may not read is an error, a malformed one is skipped.
std::string unreadable_envelope(const fs::path& file) {
  if (std::string problem = access_problem(file, R_OK, "read"); !problem.empty())
    throw Failure{kFailed, fmt::format("cannot read the queue: {}", problem)};
  return fmt::format("{} cannot be read (malformed or another format)", file.string());
}

/// The spool on disk answering the viewer's requests as the gateway would, without hop states.
class SpoolOnDisk : public queue::QueueControl {
 public:
  explicit SpoolOnDisk(const fs::path& state_dir) {
    fs::path dir = spool_dir(state_dir);
    try {
      queue::Spool spool(dir);
      for (const auto& id : spool.list()) {
        if (auto envelope = spool.load_envelope(id))
          envelopes_.push_back(std::move(*envelope));
        else
          print_error(unreadable_envelope(dir / (id + ".json")) + "; skipped");
      }
    } catch (const std::exception& e) {
      throw Failure{kFailed, fmt::format("cannot read the queue at {}: {}", dir.string(), e.what())};
    }
  }
  std::vector<const queue::Envelope*> envelopes() const override {
    std::vector<const queue::Envelope*> out;
    for (const auto& envelope : envelopes_) out.push_back(&envelope);
    return out;
  }
  const queue::Envelope* find(const std::string& id) const override {
    for (const auto& envelope : envelopes_)
      if (envelope.id == id) return &envelope;
    return nullptr;
  }
  queue::LiveHops hops() const override { return {}; }
  Loading loading() const override { return {}; }
  system_clock::time_point now() const override { return now_; }
  std::size_t retry(const std::vector<std::string>&, const queue::QueueFilter&, bool) override {
    throw std::logic_error("the spool on disk is read-only");
  }
  void remove(const std::string&, bool) override { throw std::logic_error("the spool on disk is read-only"); }

 private:
  std::vector<queue::Envelope> envelopes_;
  system_clock::time_point now_ = system_clock::now();
};

queue::Envelope read_spooled_message(const fs::path& state_dir, const std::string& id) {
  fs::path dir = spool_dir(state_dir);
  try {
    queue::Spool spool(dir);
    if (auto envelope = spool.load_envelope(id)) return *envelope;
  } catch (const std::exception& e) {
    throw Failure{kFailed, fmt::format("cannot read the queue at {}: {}", dir.string(), e.what())};
  }
  std::error_code ec;
  if (fs::exists(dir / (id + ".json"), ec)) throw Failure{kFailed, unreadable_envelope(dir / (id + ".json"))};
  throw Failure{kFailed, fmt::format("no message {} in the queue", id)};
}

/// The answer to a request that only reads, and where it came from ("gateway" or "spool"). Falls
/// back to the spool exactly when no gateway runs (or it cannot answer), never when we may not
/// use its socket: that would show a queue we may not read either as empty.
struct ViewAnswer {
  Json answer;
  std::string source;
};

class Viewer {
 public:
  explicit Viewer(fs::path state_dir) : state_dir_(std::move(state_dir)) {}

  ViewAnswer ask(const Json& request) {
    if (!spool_) {
      auto reply = control::request(state_dir_ / "control.sock", request);
      if (reply) return {ok_answer(*reply), "gateway"};
      if (reply.error().why == control::RequestError::PermissionDenied) throw Failure{kFailed, reply.error().message};
      if (reply.error().why == control::RequestError::NotRunning)
        print_error(fmt::format("no gateway is running on {}; showing the spool on disk", state_dir_.string()));
      else
        print_error(fmt::format("{}; showing the spool on disk", reply.error().message));
      spool_ = std::make_unique<SpoolOnDisk>(state_dir_);
    }
    return {ok_answer(queue::control_answer(request, *spool_)), "spool"};
  }
  bool on_spool() const { return spool_ != nullptr; }
  const fs::path& state_dir() const { return state_dir_; }

 private:
  fs::path state_dir_;
  std::unique_ptr<SpoolOnDisk> spool_;
};

void check_id(const std::string& id) {
  if (!queue::valid_queue_id(id))
    throw Failure{kUsage,
                  fmt::format("\"{}\" is not a queue id (1 to 64 letters and digits, e.g. 0005F1A2B3C40001)", id)};
}

system_clock::time_point answer_time(const Json& answer) {
  auto when = answer.find("now");
  if (when != answer.end() && when->is_string())
    if (auto t = queue::parse_utc_time(when->get<std::string>())) return *t;  // the gateway's clock
  unexpected_answer("no valid \"now\"");
}

void announce_loading(const Json& answer) {
  if (auto it = answer.find("loading"); it != answer.end() && it->is_object())
    fmt::print(
        "The gateway is still reading its spool after a restart ({} of {} messages): the list is not complete yet.\n",
        it->value("read", 0), it->value("total", 0));
}

int list_hops(Viewer& viewer, const QueueOptions& options, const queue::QueueFilter& filter) {
  auto [answer, source] = viewer.ask({{"command", "list"}, {"filter", queue::filter_json(filter)}});
  auto hops = answer.find("hops");
  auto rows = hops == answer.end() ? std::nullopt : queue::hop_rows_from_json(*hops);
  if (!rows) unexpected_answer("no valid \"hops\"");
  const auto now = answer_time(answer);
  if (options.json) {
    Json out = {{"source", source}, {"now", queue::format_utc_time(now)}, {"hops", queue::hop_rows_json(*rows)}};
    if (answer.contains("loading")) out["loading"] = answer["loading"];
    print_json(out);
    return kOk;
  }
  announce_loading(answer);
  if (rows->empty() && !filter.empty())
    fmt::print("No queued messages match.\n");
  else
    fmt::print("{}", queue::render_hop_rows(*rows, now));
  return kOk;
}

/// Up to `limit` (0: all) matching messages, oldest first, fetched a page at a time.
int list_messages(Viewer& viewer, const QueueOptions& options, const queue::QueueFilter& filter) {
  Json request = {{"command", "messages"}, {"filter", queue::filter_json(filter)}};
  std::vector<queue::MessageRow> rows;
  Json first;
  std::string source;
  for (;;) {
    std::size_t wanted = options.limit == 0 ? queue::kMaxMessagesPerPage : options.limit - rows.size();
    request["limit"] = std::min(wanted, queue::kMaxMessagesPerPage);
    auto [answer, from] = viewer.ask(request);
    auto page = answer.contains("messages") ? queue::message_rows_from_json(answer["messages"]) : std::nullopt;
    if (!page || !answer.value("total", Json()).is_number_unsigned()) unexpected_answer("no valid \"messages\"");
    if (first.is_null()) {
      first = answer;
      source = from;
    }
    rows.insert(rows.end(), std::make_move_iterator(page->begin()), std::make_move_iterator(page->end()));
    const bool more = answer.value("more", false) && !page->empty();
    if (!more || (options.limit != 0 && rows.size() >= options.limit)) break;
    request["after"] = {{"received", queue::format_utc_time(rows.back().received)}, {"id", rows.back().id}};
  }
  const auto now = answer_time(first);
  const auto total = first["total"].get<std::size_t>();
  if (options.json) {
    Json out = {{"source", source},
                {"now", queue::format_utc_time(now)},
                {"total", total},
                {"messages", queue::message_rows_json(rows)}};
    if (first.contains("loading")) out["loading"] = first["loading"];
    print_json(out);
    return kOk;
  }
  announce_loading(first);
  if (rows.empty() && !filter.empty()) {
    fmt::print("No queued messages match.\n");
    return kOk;
  }
  fmt::print("{}", queue::render_message_rows(rows, now));
  if (rows.size() < total)
    fmt::print("{} of {} shown, oldest first; --limit N shows more, --limit 0 all.\n", rows.size(),
               plural(total, "message"));
  return kOk;
}

int show(Viewer& viewer, const QueueOptions& options) {
  check_id(options.id);
  queue::Envelope envelope;
  auto now = system_clock::now();
  try {
    auto [answer, source] = viewer.ask({{"command", "show"}, {"id", options.id}});
    auto message = answer.find("message");
    auto parsed = message == answer.end() ? std::nullopt : queue::message_from_json(*message);
    if (!parsed) unexpected_answer("no valid \"message\"");
    envelope = std::move(*parsed);
  } catch (const Failure&) {
    // On the spool, say why a message is missing: not there, or not readable.
    if (!viewer.on_spool()) throw;
    envelope = read_spooled_message(viewer.state_dir(), options.id);
  }
  if (options.json)
    print_json(queue::message_json(envelope));
  else
    fmt::print("{}", queue::render_message(envelope, now));
  return kOk;
}

/// retry and remove change the queue: only the gateway may, so without one they fail.
Json ask_gateway_to_change(const fs::path& state_dir, const Json& request, std::string_view what) {
  auto reply = control::request(state_dir / "control.sock", request);
  if (!reply) {
    if (reply.error().why == control::RequestError::NotRunning)
      throw Failure{kFailed, fmt::format("no gateway is running on {}; {} needs the running gateway "
                                         "(start it with 'sluice serve')",
                                         state_dir.string(), what)};
    throw Failure{kFailed, reply.error().message};
  }
  return ok_answer(*reply);
}

/// Asks `question` ("Retry 3 messages now (A, B, C, ...)?") on the terminal; without one, refuses
/// (exit 2) rather than guess.
void confirm(const std::string& question, const std::string& command, std::size_t total) {
  if (!::isatty(STDIN_FILENO))
    throw Failure{kUsage, fmt::format("{} of {} needs a confirmation: run it on a terminal, or add --yes", command,
                                      plural(total, "matching message"))};
  fmt::print(stderr, "{} [y/N] ", question);
  std::fflush(stderr);
  std::string line;
  if (!std::getline(std::cin, line) || (line != "y" && line != "Y" && line != "yes"))
    throw Failure{kFailed, "nothing done"};
}

/// retry and remove: one message by id, or those the filters (or --all) select, confirmed when
/// more than one. What was confirmed is bounded by the count's time: mail accepted later is not
/// touched.
int change(const fs::path& state_dir, const QueueOptions& options, const queue::QueueFilter& filter,
           const std::string& command) {
  const int chosen = !options.id.empty() + !filter.empty() + options.all;
  if (chosen != 1)
    throw Failure{kUsage, fmt::format("{}: give exactly one of ID, a filter (--hop, --domain, --sender, --recipient, "
                                      "--status, --older-than) or --all",
                                      command)};
  const bool remove = command == "remove";
  Json request = {{"command", command}};
  if (remove) request["bounce"] = options.bounce;
  if (!options.id.empty()) {
    check_id(options.id);
    request["id"] = options.id;
  } else {
    Json count = ask_gateway_to_change(
        state_dir, {{"command", "messages"}, {"filter", queue::filter_json(filter)}, {"limit", 5}}, command);
    if (!count.value("total", Json()).is_number_unsigned() || !count.value("messages", Json()).is_array())
      unexpected_answer("no valid \"total\"");
    const auto total = count["total"].get<std::size_t>();
    if (total == 0) {
      fmt::print("No queued messages match; nothing to {}.\n", command);
      return kOk;
    }
    if (total > 1 && !options.yes) {
      std::string ids;
      for (const auto& row : count["messages"]) ids += (ids.empty() ? "" : ", ") + row.value("id", std::string());
      if (total > count["messages"].size()) ids += ", ...";
      confirm(remove ? fmt::format("Remove {} {} ({})?", plural(total, "message"),
                                   options.bounce ? "and send each sender a non-delivery report"
                                                  : "without a non-delivery report",
                                   ids)
                     : fmt::format("Retry {} now ({})?", plural(total, "message"), ids),
              command, total);
    }
    queue::QueueFilter bounded = filter;
    bounded.received_before = answer_time(count);
    request["filter"] = queue::filter_json(bounded);
  }
  Json answer = ask_gateway_to_change(state_dir, request, command);
  const char* counted = remove ? "removed" : "retried";
  auto n = answer.find(counted);
  if (n == answer.end() || !n->is_number_unsigned()) unexpected_answer(fmt::format("no \"{}\" count", counted));
  if (options.json) {
    print_json(answer);
  } else if (!remove) {
    fmt::print("{} scheduled for immediate retry.\n", plural(n->get<std::size_t>(), "message"));
  } else {
    std::string what = options.id.empty() ? plural(n->get<std::size_t>(), "message") : options.id;
    fmt::print("Removed {}{}.\n", what,
               options.bounce ? "; a non-delivery report goes to the sender" : " without a non-delivery report");
  }
  return kOk;
}

// ---- drain (docs/queue.md, "Draining a node") ----

queue::DrainState drain_state_of(const Json& answer) {
  auto state = queue::drain_state_from_json(answer);
  if (!state) unexpected_answer("no valid drain state");
  return *state;
}

/// Whether process `pid` still runs. A zombie has ended (its files are closed and written): its
/// parent (systemd, a shell, a test) may not have collected it yet.
bool process_runs(std::int64_t pid) {
  if (pid <= 0) return false;
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (stat && std::getline(stat, line)) {
    // "pid (comm) S ...": the state follows the last ')', as comm may hold one.
    auto close = line.rfind(')');
    return close == std::string::npos || close + 2 >= line.size() || (line[close + 2] != 'Z' && line[close + 2] != 'X');
  }
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

/// How long --wait looks between questions: the gateway's own drain looks five times a second.
constexpr std::chrono::milliseconds kDrainPollInterval{200};

/// --wait: asks until the gateway has gone (printing what is left as it changes), waits for its
/// process to end (its last spool writes with it), then counts what its spool still holds.
int wait_for_drain(const fs::path& state_dir, const queue::DrainState& started, const QueueOptions& options) {
  std::optional<std::size_t> last_shown;
  for (;;) {
    auto reply = control::request(state_dir / "control.sock", {{"command", "drain-status"}});
    if (!reply) {
      if (reply.error().why == control::RequestError::NotRunning) break;
      throw Failure{kFailed, reply.error().message};
    }
    const auto state = drain_state_of(ok_answer(*reply));
    if (state.pid != started.pid || !state.draining)
      throw Failure{kFailed, fmt::format("the gateway on {} is no longer the one draining (it was restarted: pid {}, "
                                         "was {})",
                                         state_dir.string(), state.pid, started.pid)};
    if (!options.json && last_shown != state.messages) {
      fmt::print("{} left{}\n", plural(state.messages, "message"),
                 state.sessions ? fmt::format(", {} open", plural(state.sessions, "session")) : std::string());
      std::fflush(stdout);
      last_shown = state.messages;
    }
    std::this_thread::sleep_for(kDrainPollInterval);
  }
  while (process_runs(started.pid)) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // The spool is the truth about what is left, whatever ended the gateway.
  const std::size_t left = SpoolOnDisk(state_dir).envelopes().size();
  if (options.json) {
    print_json({{"drained", left == 0}, {"messages_left", left}, {"pid", started.pid}});
  } else if (left == 0) {
    fmt::print("The gateway (pid {}) drained its queue and stopped.\n", started.pid);
  } else {
    fmt::print("The gateway (pid {}) stopped with {} still in its spool {}; they are kept: a restart delivers them.\n",
               started.pid, plural(left, "message"), (state_dir / "queue").string());
  }
  return left == 0 ? kOk : kExitDrainDeadline;
}

int drain(const fs::path& state_dir, const QueueOptions& options) {
  Json request = {{"command", "drain"}};
  if (!options.deadline.empty()) {
    auto deadline = queue::parse_age(options.deadline);
    if (!deadline) throw Failure{kUsage, "--deadline " + deadline.error().message};
    if (deadline->count() < 1) throw Failure{kUsage, "--deadline must be at least 1s"};
    request["deadline_seconds"] = deadline->count();
  }
  Json answer = ask_gateway_to_change(state_dir, request, "drain");
  const auto state = drain_state_of(answer);
  if (!state.draining)  // it answered while a signal was stopping it
    throw Failure{kFailed, fmt::format("the gateway on {} is stopping already", state_dir.string())};
  if (options.json && !options.wait) {
    print_json(answer);
    return kOk;
  }
  if (!options.json) {
    fmt::print(
        "{} the gateway on {} (pid {}): new connections get 421 4.3.2, {} queued, {} open; it stops when the "
        "queue is empty{}.\n",
        answer.value("was_draining", false) ? "Still draining" : "Draining", state_dir.string(), state.pid,
        plural(state.messages, "message"), plural(state.sessions, "session"),
        state.deadline
            ? fmt::format(" or at {} (exit status {})", queue::format_utc_time(*state.deadline), kExitDrainDeadline)
            : std::string());
    std::fflush(stdout);
  }
  return options.wait ? wait_for_drain(state_dir, state, options) : kOk;
}

/// The filters every command that selects messages takes, with one meaning everywhere.
void add_filter_options(CLI::App* command, QueueOptions& o) {
  command->add_option("--hop", o.hop, "only recipients routed to this next hop (as NEXT HOP shows it)");
  command->add_option("--domain", o.domain, "only recipients whose next hop or recipient domain is this");
  command->add_option("--sender", o.sender, "only mail from this address; * matches any text; <> the null sender");
  command->add_option("--recipient", o.recipient, "only recipients matching this address; * matches any text");
  command->add_option("--status", o.status, "only this status: Active, Ready or Retry");
  command->add_option("--older-than", o.older_than, "only mail received at least this long ago: 30m, 2h, 1d, 1w");
}

void add_json_flag(CLI::App* command, QueueOptions& o, const std::string& what) {
  command->add_flag("--json", o.json, what);
}

/// The fleet view when --fleet or several --state-dir ask for it (only `list` takes them); -1 otherwise.
int list_fleet_if_asked(const QueueOptions& options, bool listing, bool limit_given) {
  if (options.fleet_file.empty() && options.state_dirs.size() < 2) return -1;
  if (!listing) throw Failure{kUsage, "several --state-dir go with list only"};
  if (!options.fleet_file.empty() && (!options.state_dirs.empty() || !options.config_file.empty()))
    throw Failure{kUsage, "--fleet names every node: no --state-dir or --config with it"};
  if (!options.config_file.empty()) throw Failure{kUsage, "several --state-dir: no --config with them"};
  if (limit_given && !options.messages) throw Failure{kUsage, "--limit goes with --messages"};
  filter_of(options);  // a bad filter is a usage error here, not one per node
  const std::string self = demo::self_executable().string();
  auto nodes = options.fleet_file.empty() ? nodes_of_state_dirs(options.state_dirs, self)
                                          : read_fleet_file(options.fleet_file, self);
  if (!nodes) throw Failure{kUsage, nodes.error().message};
  FleetListRequest request;
  request.json = options.json;
  request.messages = options.messages;
  request.limit = options.limit;
  for (auto [name, value] : {std::pair{"--hop", &options.hop}, std::pair{"--domain", &options.domain},
                             std::pair{"--sender", &options.sender}, std::pair{"--recipient", &options.recipient},
                             std::pair{"--status", &options.status}, std::pair{"--older-than", &options.older_than}})
    if (!value->empty()) request.filter_arguments.push_back(fmt::format("{}={}", name, *value));
  return list_fleet(*nodes, request);
}

// `sluice queue move` (cli/queue_move.h): on the spool of a stopped gateway, holding its state
// directory meanwhile; needs the configuration for the EHLO name and the send log's limits.
int move(const QueueOptions& options, const queue::QueueFilter& filter) {
  QueueMoveRequest request;
  try {
    request.config = options.config_file.empty() ? config::default_config() : config::load_config(options.config_file);
  } catch (const std::exception& e) {
    throw Failure{kUsage, e.what()};
  }
  if (!options.state_dir.empty()) request.config.state_dir = options.state_dir;
  request.state_dir = request.config.state_dir;
  request.to = options.move_to;
  request.id = options.id;
  request.filter = filter;
  request.all = options.all;
  request.json = options.json;
  request.confirm = [&options](const std::string& question, std::size_t total) {
    if (!options.yes) confirm(question, "move", total);
  };
  return queue_move(request);
}

constexpr const char* kHelp = R"(Show and steer the queue of outbound mail, as Exchange's Queue Viewer does.

  sluice queue list [FILTERS] [--json]
      one row per next hop: NEXT HOP, STATUS, MESSAGES, NEXT RETRY and LAST ERROR (the reply of
      the latest attempt, e.g. "421 4.4.2 Connection dropped due to SocketError", never shortened)
  sluice queue list --messages [FILTERS] [--limit N] [--json]
      one row per message: ID, STATUS, AGE, SIZE, FROM, NEXT HOP, NEXT RETRY, then each recipient
      with its status, next hop, next retry and last error; oldest first, 1000 unless --limit
  sluice queue list --state-dir DIR --state-dir DIR2 ... | --fleet FILE  [--messages] [FILTERS] [--json]
      several gateways in one view: per next hop with the messages of each node (NODES), the
      oldest message, the earliest next retry and the latest error; --messages with a NODE column
  sluice queue show ID [--json]         one message: sender, origin, TLS, each recipient's state
  sluice queue retry ID | FILTERS | --all [--yes]
                                        try now instead of waiting for the next retry
  sluice queue remove ID | FILTERS | --all [--bounce | --no-bounce] [--yes]
                                        delete messages; without a non-delivery report unless --bounce
  sluice queue drain [--deadline 30m] [--wait] [--json]
                                        take this node out: refuse new sessions (421 4.3.2), try
                                        every deferred message now, stop the gateway once its queue
                                        is empty (exit 0) or at the deadline (exit 75, mail kept)
  sluice queue move --to HOST:PORT ID | FILTERS | --all [--yes] [--json]
                                        hand a stopped gateway's queue to another node over SMTP
                                        (XMOVE): arrival time and retry history go along

FILTERS: --hop H, --domain D, --sender S, --recipient R (S and R: * matches any text), --status
Active|Ready|Retry, --older-than 30m|2h|1d. The gateway applies them and sends only what matched.
STATUS: Active (being delivered), Ready (due now, waits for a connection), Retry (waits until
NEXT RETRY, after a failure or on its next hop's backoff); only Retry has a NEXT RETRY.
retry and remove ask for confirmation on a terminal when more than one message matches; --yes
skips it, and without a terminal they refuse unless --yes is given.

It asks the running gateway through the control socket <state_dir>/control.sock (owner only).
When no gateway runs there, list and show read the spool <state_dir>/queue directly (read-only)
and say so on stderr; retry and remove fail, since only the gateway changes the queue. A socket or
spool this user may not read is an error, never an empty queue.
move works the other way round: only when no gateway runs on the state directory (after
`sluice queue drain`, or stopped), which it holds until it is done; the destination's receive
connector needs accept_moved_mail = true and must let this node relay.
The state directory is --state-dir, else state_dir of --config, else the default (as serve).
Exit status: 0 done, 1 the operation failed (no gateway, no permission, no such message,
confirmation declined), 2 usage error (also: a confirmation needed without a terminal);
drain --wait: 0 the gateway drained and stopped, 75 it stopped with mail left in its spool.)";

}  // namespace

int run_queue(int argc, char** argv) {
  CLI::App app{kHelp, "sluice queue"};
  QueueOptions options;
  app.fallthrough();  // `sluice queue list --state-dir X` as well as `sluice queue --state-dir X list`
  app.require_subcommand(1);
  app.add_option("-c,--config", options.config_file, "TOML configuration file whose state_dir to use");
  app.add_option("-s,--state-dir", options.state_dirs,
                 "the gateway's state directory (overrides the configuration); list takes several: one view of "
                 "every gateway")
      ->allow_extra_args(false);

  auto* list_cmd = app.add_subcommand("list", "queued mail by next hop, or by message with --messages");
  add_filter_options(list_cmd, options);
  list_cmd->add_flag("--messages", options.messages, "one row per message instead of per next hop");
  list_cmd->add_option("--limit", options.limit, "with --messages: at most N messages, oldest first (0: all)")
      ->capture_default_str();
  add_json_flag(list_cmd, options,
                "print JSON: {\"source\":\"gateway\"|\"spool\",\"now\",\"hops\":[...]} "
                "(with --messages: \"total\",\"messages\":[...])");
  list_cmd->add_option("--fleet", options.fleet_file,
                       "a fleet file naming several gateways ([[node]] name, state_dir|config|ssh|command): one "
                       "view of all, by next hop (docs/queue.md)");

  auto* show_cmd = app.add_subcommand("show", "one message in detail");
  show_cmd->add_option("id", options.id, "queue id (16 hex digits, as in the 250 reply and the logs)")->required();
  add_json_flag(show_cmd, options, "print JSON");

  auto* retry_cmd = app.add_subcommand("retry", "retry now: one message, those the filters select, or all");
  auto* remove_cmd = app.add_subcommand("remove", "delete messages from the queue");
  for (auto* command : {retry_cmd, remove_cmd}) {
    command->add_option("id", options.id, "queue id");
    add_filter_options(command, options);
    command->add_flag("--all", options.all, "every queued message");
    command->add_flag("-y,--yes", options.yes, "do not ask for confirmation when more than one message matches");
    add_json_flag(command, options, "print the gateway's JSON answer");
  }
  remove_cmd->add_flag("--bounce,!--no-bounce", options.bounce,
                       "send each sender a non-delivery report (default: --no-bounce)");

  auto* drain_cmd = app.add_subcommand(
      "drain", "refuse new sessions, deliver what is queued, and stop the gateway when empty or at --deadline");
  drain_cmd->add_option("--deadline", options.deadline,
                        "stop at the latest this long from now, with what is left still spooled: 30m, 2h, 1d "
                        "(default: none, until the queue is empty)");
  drain_cmd->add_flag("--wait", options.wait, "wait until the gateway has stopped and say how it ended");
  add_json_flag(drain_cmd, options, "print the gateway's JSON answer (with --wait: how it ended)");
  auto* move_cmd = app.add_subcommand("move", "move a stopped gateway's queue to another node over SMTP");
  move_cmd->add_option("--to", options.move_to, "the node to move to: HOST:PORT (its connector must accept_moved_mail)")
      ->required();
  move_cmd->add_option("id", options.id, "queue id");
  add_filter_options(move_cmd, options);
  move_cmd->add_flag("--all", options.all, "every queued message");
  move_cmd->add_flag("-y,--yes", options.yes, "do not ask for confirmation when more than one message matches");
  add_json_flag(move_cmd, options, "print {\"to\",\"messages\":[{\"id\",\"new_id\",\"moved\",\"kept\",\"reply\"}]}");

  if (auto stop = parse_command_line(app, "queue", argc, argv)) return *stop;

  try {
    if (int fleet = list_fleet_if_asked(options, list_cmd->parsed(), list_cmd->count("--limit") > 0); fleet >= 0)
      return fleet;
    if (!options.state_dirs.empty()) options.state_dir = options.state_dirs.front();
    const queue::QueueFilter filter = filter_of(options);
    if (move_cmd->parsed()) return move(options, filter);
    fs::path state_dir = state_dir_of(options);
    Viewer viewer(state_dir);
    if (list_cmd->parsed()) {
      if (list_cmd->count("--limit") && !options.messages) throw Failure{kUsage, "--limit goes with --messages"};
      return options.messages ? list_messages(viewer, options, filter) : list_hops(viewer, options, filter);
    }
    if (show_cmd->parsed()) return show(viewer, options);
    if (drain_cmd->parsed()) return drain(state_dir, options);
    return change(state_dir, options, filter, retry_cmd->parsed() ? "retry" : "remove");
  } catch (const Failure& failure) {
    print_error(failure.message);
    return failure.status;
  } catch (const std::exception& e) {
    print_error(e.what());
    return kFailed;
  }
}

}  // namespace sluice::cli
