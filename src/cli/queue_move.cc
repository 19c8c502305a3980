#include "cli/queue_move.h"

#include <fmt/format.h>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include <exception>
#include <optional>
#include <vector>

#include "base/atomic_file.h"
#include "cli/command_line.h"
#include "config/config.h"
#include "control/control_socket.h"
#include "outbound/smtp_client.h"
#include "protocol_log/protocol_log.h"
#include "queue/move_parameters.h"
#include "queue/spool.h"
#include "tls/client_context.h"
#include "tracking/events.h"
#include "tracking/tracking_log.h"

namespace sluice::cli {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using std::chrono::system_clock;

/// Ends the move with an exit status and a message for stderr.
struct MoveStopped {
  int status;
  std::string message;
};

/// A command line stays within RFC 5321's 512 octets (CRLF included) with XMOVE's parameters.
constexpr std::size_t kMaxMoveCommandLine = 510;

/// "host:port" or "[v6]:port" to the endpoint to connect to (the first address of the name).
outbound::Target move_target(asio::io_context& io, const std::string& to) {
  // The smart-host form ("host:port", "[v6]:port"), with the port required: between two nodes
  // there is no default port to assume.
  auto parsed = config::parse_smart_host(to);
  if (!parsed || to.back() == ']' || to.find(':') == std::string::npos)
    throw MoveStopped{kUsage, fmt::format("--to {}: give HOST:PORT, e.g. mx2.example.org:25 or [2001:db8::2]:25", to)};
  const std::string& host = parsed->host;
  const std::string port = std::to_string(parsed->port);
  std::error_code ec;
  auto found = asio::ip::tcp::resolver(io).resolve(host, port, ec);
  if (ec || found.empty())
    throw MoveStopped{kFailed, fmt::format("--to {}: cannot resolve {}: {}", to, host, ec.message())};
  outbound::Target target;
  target.host = host;
  target.endpoint = found.begin()->endpoint();
  // Between nodes of one site: STARTTLS when offered, any certificate (as opportunistic delivery).
  target.tls.level = outbound::TlsLevel::May;
  target.tls.policy_domain = host;
  target.tls.decided_by = "sluice queue move: STARTTLS when offered";
  target.tls.fallback_to_plaintext = true;
  return target;
}

/// One message to move: the recipients that go (waiting ones, those the filter selects).
struct MoveCandidate {
  std::string id;
  std::vector<std::size_t> recipients;
};

/// What became of one message.
struct MoveOutcome {
  std::string id;
  std::string new_id;     ///< its id on the destination ("" when it did not go)
  std::size_t moved = 0;  ///< recipients now on the destination
  std::size_t kept = 0;   ///< recipients still here (refused there, or the transaction failed)
  std::string reply;      ///< the destination's last word
};

std::vector<MoveCandidate> select_messages(queue::Spool& spool, const QueueMoveRequest& request) {
  std::vector<MoveCandidate> out;
  const auto now = system_clock::now();
  for (const auto& id : spool.list()) {
    if (!request.id.empty() && id != request.id) continue;
    auto envelope = spool.load_envelope(id);
    if (!envelope) {
      fmt::print(stderr, "sluice queue: {}; skipped\n", envelope.error().message);
      continue;
    }
    if (!queue::matches_message(request.filter, *envelope, now)) continue;
    MoveCandidate candidate{id, {}};
    for (std::size_t i = 0; i < envelope->recipients.size(); ++i) {
      const auto& r = envelope->recipients[i];
      if (r.waiting() && (!request.filter.selects_recipients() ||
                          queue::matches_recipient(request.filter, r, queue::recipient_hop(r))))
        candidate.recipients.push_back(i);
    }
    // DSNs owed to the sender are this node's to send: such a message waits for its gateway.
    if (!envelope->pending_notices.empty()) {
      fmt::print(stderr, "sluice queue: {} owes its sender a notice; start the gateway to send it, then move it\n", id);
      continue;
    }
    if (!candidate.recipients.empty()) out.push_back(std::move(candidate));
  }
  if (!request.id.empty() && out.empty())
    throw MoveStopped{kFailed, fmt::format("no message {} with recipients still to deliver in the queue", request.id)};
  return out;
}

class QueueMover {
 public:
  QueueMover(const QueueMoveRequest& request, queue::Spool& spool, outbound::Target target,
             protocol_log::Writer& send_log, tracking::TrackingLog* tracking)
      : request_(request), spool_(spool), target_(std::move(target)), tracking_(tracking) {
    connector_.name = "queue-move";
    connector_.tls = config::OutboundTls::Opportunistic;
    tls_context_ = tls::make_client_context(tls::Policy{}, false);
    settings_.connector = &connector_;
    settings_.helo = request.config.hostname;
    settings_.tls_context = tls_context_.get();
    settings_.send_log = &send_log;
    settings_.timeouts.connect = std::chrono::seconds(30);
    settings_.timeouts.command = std::chrono::seconds(120);
  }

  /// Moves `candidates` in order; stops at the first that could not even start a transaction
  /// (no connection, no XMOVE): the rest would fare the same.
  asio::awaitable<void> run(asio::any_io_executor executor, const std::vector<MoveCandidate>& candidates) {
    for (const auto& candidate : candidates) {
      auto outcome = co_await move_one(executor, candidate);
      report(outcome);
      const bool stop = outcome.moved == 0 && !started_;
      outcomes_.push_back(std::move(outcome));
      if (stop || !stop_reason_.empty()) break;
    }
  }

  const std::vector<MoveOutcome>& outcomes() const { return outcomes_; }
  const std::string& stop_reason() const { return stop_reason_; }

 private:
  asio::awaitable<MoveOutcome> move_one(asio::any_io_executor executor, const MoveCandidate& candidate) {
    MoveOutcome outcome;
    outcome.id = candidate.id;
    auto envelope = spool_.load_envelope(candidate.id);
    auto content = spool_.load_message(candidate.id);
    if (!envelope || !content) {
      outcome.reply = "the message could not be read from the spool";
      started_ = true;  // this message's trouble, not the destination's
      co_return outcome;
    }
    outbound::Transaction t;
    t.mail_from = envelope->mail_from;
    t.message = &*content;
    t.eight_bit = envelope->body_type == "8BITMIME";
    t.smtputf8 = envelope->smtputf8;
    t.move = true;
    t.move_mail_parameters = queue::move_mail_parameters(*envelope);
    for (auto i : candidate.recipients) {
      const auto& r = envelope->recipients[i];
      t.recipients.push_back(r.address);
      const std::size_t used = std::string_view("RCPT TO:<>").size() + r.address.size();
      t.move_recipient_parameters.push_back(
          queue::move_recipient_parameters(r, used < kMaxMoveCommandLine ? kMaxMoveCommandLine - used : 0));
    }
    auto result = co_await outbound::deliver(executor, settings_, target_, t, outbound::TlsAttempt::Policy);
    if (result.may_fall_back)
      result = co_await outbound::deliver(executor, settings_, target_, t, outbound::TlsAttempt::Plaintext);
    started_ = result.transaction_started;
    if (!result.data_accepted) {
      outcome.kept = candidate.recipients.size();
      outcome.reply = !result.reply.empty()       ? result.reply.one_line()
                      : result.recipients.empty() ? std::string("not sent")
                                                  : result.recipients.front().one_line();
      co_return outcome;
    }
    // The destination has the message durably (its 250): only now does it leave this spool. A
    // crash between the two leaves it on both nodes: the duplicate window (docs/queue.md).
    std::string final_reply;
    for (std::size_t k = 0; k < candidate.recipients.size(); ++k)
      if (result.recipients[k].positive()) final_reply = result.recipients[k].one_line();
    outcome.new_id = tracking::queued_as(final_reply);
    outcome.reply = final_reply;
    const auto now = system_clock::now();
    for (std::size_t k = 0; k < candidate.recipients.size(); ++k) {
      auto& r = envelope->recipients[candidate.recipients[k]];
      if (!result.recipients[k].positive()) {
        ++outcome.kept;
        continue;
      }
      ++outcome.moved;
      r.state = queue::Recipient::State::Delivered;
      r.last_attempt = now;
      r.last_reply = smtp::make_reply(250, "2.0.0", fmt::format("Moved to {} as {}", request_.to, outcome.new_id));
    }
    auto settled = envelope->any_waiting() ? spool_.update(*envelope) : spool_.remove(candidate.id);
    // Spool::remove does not fsync (the gateway's duplicate window); a move does, so that even a
    // power loss brings back at most the one message in flight, not every one moved since the
    // file system's last commit.
    if (settled)
      if (std::error_code synced = fsync_directory(spool_.dir())) settled = fail(synced);
    if (tracking_) {
      std::vector<std::string> moved;
      for (std::size_t k = 0; k < candidate.recipients.size(); ++k)
        if (result.recipients[k].positive()) moved.push_back(t.recipients[k]);
      tracking_->moved(*envelope, moved,
                       {.connector = connector_.name,
                        .host = target_.host,
                        .endpoint = result.endpoint,
                        .local_endpoint = result.local_endpoint,
                        .tls_version = result.tls_version,
                        .tls_cipher = result.tls_cipher},
                       final_reply);
    }
    if (!settled) {
      // The destination has it and this spool could not say so: stop before anything else doubles.
      stop_reason_ = fmt::format(
          "{} was moved as {} but could not be taken out of this queue ({}); it will be "
          "delivered from both nodes unless you remove it here",
          candidate.id, outcome.new_id, settled.error().message());
    }
    co_return outcome;
  }

  void report(const MoveOutcome& o) const {
    if (request_.json) return;
    if (!o.new_id.empty() || o.moved > 0)
      fmt::print("{}: moved to {} as {} ({} recipient{}{})\n", o.id, request_.to, o.new_id, o.moved,
                 o.moved == 1 ? "" : "s", o.kept ? fmt::format(", {} kept here: {}", o.kept, o.reply) : "");
    else
      fmt::print("{}: not moved, kept here: {}\n", o.id, o.reply);
    std::fflush(stdout);
  }

  const QueueMoveRequest& request_;
  queue::Spool& spool_;
  outbound::Target target_;
  tracking::TrackingLog* tracking_;
  config::SendConnector connector_;
  std::shared_ptr<asio::ssl::context> tls_context_;
  outbound::ClientSettings settings_;
  std::vector<MoveOutcome> outcomes_;
  bool started_ = false;
  std::string stop_reason_;
};

Json outcomes_json(const std::vector<MoveOutcome>& outcomes) {
  Json out = Json::array();
  for (const auto& o : outcomes)
    out.push_back({{"id", o.id}, {"new_id", o.new_id}, {"moved", o.moved}, {"kept", o.kept}, {"reply", o.reply}});
  return out;
}

int move_queue(const QueueMoveRequest& request) {
  const int chosen = !request.id.empty() + !request.filter.empty() + request.all;
  if (chosen != 1)
    throw MoveStopped{kUsage,
                      "move: give exactly one of ID, a filter (--hop, --domain, --sender, --recipient, "
                      "--older-than) or --all"};
  // Active/Ready/Retry are the running queue's; with no gateway running there is none.
  if (!request.filter.status.empty())
    throw MoveStopped{kUsage, "move: --status needs a running queue; use other filters"};
  if (!request.id.empty() && !queue::valid_queue_id(request.id))
    throw MoveStopped{kUsage, fmt::format("\"{}\" is not a queue id", request.id)};
  asio::io_context io(1);
  outbound::Target target = move_target(io, request.to);
  const fs::path dir = request.state_dir / "queue";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw MoveStopped{kFailed, fmt::format("there is no queue at {}", dir.string())};
  // Holding the control socket keeps a gateway from starting here (serve refuses a state
  // directory whose socket answers) and tells `sluice queue list` what is going on.
  std::optional<control::ControlServer> control;
  try {
    const std::string busy =
        fmt::format("sluice queue move is moving this queue to {}; try again when it is done", request.to);
    control.emplace(io, request.state_dir / "control.sock", [busy](const Json&) {
      return Json{{"ok", false}, {"error", busy}};
    });
  } catch (const std::exception& e) {
    throw MoveStopped{kFailed, fmt::format("{}: a gateway runs on {}; the move works only on a stopped gateway's queue "
                                           "(sluice queue drain, or stop it), so that nothing changes it meanwhile",
                                           e.what(), request.state_dir.string())};
  }
  queue::Spool spool(dir);
  spool.recover();  // what a crash of the gateway (or of an earlier move) left half-written
  const auto candidates = select_messages(spool, request);
  if (candidates.empty()) {
    if (request.json)
      fmt::print("{}\n", Json{{"to", request.to}, {"messages", Json::array()}}.dump());
    else
      fmt::print("No queued messages with recipients still to deliver match; nothing to move.\n");
    return kOk;
  }
  if (candidates.size() > 1 && request.confirm)
    request.confirm(fmt::format("Move {} messages to {} ({}{})?", candidates.size(), request.to, candidates.front().id,
                                candidates.size() > 1 ? ", ..." : ""),
                    candidates.size());

  protocol_log::Writer send_log(request.state_dir / "logs" / "ProtocolLog" / "SmtpSend", protocol_log::Direction::Send,
                                request.config.protocol_log.send.max_file_size);
  std::optional<tracking::TrackingLog> tracking;
  const auto& cfg = request.config;
  if (cfg.message_tracking.enabled)
    tracking.emplace(config::message_tracking_dir(cfg), cfg.hostname, cfg.message_tracking.limits.max_file_size);
  QueueMover mover(request, spool, std::move(target), send_log, tracking ? &*tracking : nullptr);
  std::exception_ptr failed;
  control->start();
  asio::co_spawn(io, mover.run(io.get_executor(), candidates), [&](std::exception_ptr e) {
    failed = e;
    control->stop();
  });
  io.run();
  if (failed) std::rethrow_exception(failed);

  std::size_t moved = 0;
  for (const auto& o : mover.outcomes()) moved += o.kept == 0 && o.moved > 0;
  if (request.json) {
    Json out = {{"to", request.to}, {"messages", outcomes_json(mover.outcomes())}};
    if (!mover.stop_reason().empty()) out["error"] = mover.stop_reason();
    fmt::print("{}\n", out.dump(2, ' ', false, Json::error_handler_t::replace));
  } else {
    fmt::print("Moved {} of {} message{} to {}.\n", moved, candidates.size(), candidates.size() == 1 ? "" : "s",
               request.to);
  }
  if (!mover.stop_reason().empty()) throw MoveStopped{kFailed, mover.stop_reason()};
  return moved == candidates.size() ? kOk : kFailed;
}

}  // namespace

int queue_move(const QueueMoveRequest& request) {
  try {
    return move_queue(request);
  } catch (const MoveStopped& stopped) {
    fmt::print(stderr, "sluice queue: {}\n", stopped.message);
    return stopped.status;
  }
}

}  // namespace sluice::cli
