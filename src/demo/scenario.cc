#include "demo/scenario.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>

#include "demo/files.h"
#include "demo/gateway_configs.h"
#include "demo/message_fields.h"
#include "demo/narrator.h"
#include "demo/printer_act.h"
#include "demo/process.h"
#include "demo/protocol_log_reader.h"
#include "demo/server_watch.h"
#include "demo/submitter.h"
#include "demo/text.h"

namespace sluice::demo {
namespace {

using std::chrono::seconds;
using std::chrono::steady_clock;

const std::string kTlsFailedSend = "TLS negotiation failed with error SocketError";
const std::string kTlsFailedReceive = "TLS negotiation failed with error UnsupportedProtocol";
const std::string kOfferedTls10 = "Client offered TLS1_0 only";
const std::string kStartTlsFirst = "451 5.7.3 Must issue a STARTTLS command first";
const std::string kSocketError = "421 4.4.2 Connection dropped due to SocketError";
const std::string kPrimaryTarget = "451 4.4.0 Primary target IP address responded with: \"" + kStartTlsFirst;

class Scenario {
 public:
  Scenario(Options options, Narrator& out) : options_(std::move(options)), out_(out) {}

  int run();

 private:
  // Steps, in order; each throws StepFailed when the story cannot go on.
  void prepare();
  void start_gateways();
  std::string submit(int step_message, const std::string& subject, const std::string& body);
  /// bob's mail client sends a message through cloud's frontend to `to`; cloud's queue id.
  std::string submit_from_bob(int step_message, const std::string& to, const std::string& subject);
  /// One SMTP transaction from the mail client of `user`@`domain` (EHLO `user`-pc.`domain`) to
  /// `gateway`'s `connector` on `port`, shown and checked; the queue id.
  std::string submit_via(const ServeProcess& gateway, std::uint16_t port, std::string_view connector,
                         std::string_view user, std::string_view domain, const std::string& to,
                         const std::string& message);
  void show_failed_handshake();
  void show_plaintext_retry();
  void show_queue_viewer();
  void show_ndr();
  void apply_fix();
  void show_hybrid_inbound();
  void stop_gateways();
  void run_printer_act();

  void write_onprem(const OnpremPolicy& policy);
  void restart_onprem(const OnpremPolicy& policy, std::string_view why);
  ChildResult queue_command(const std::vector<std::string>& args, bool show = true);
  /// Runs `sluice queue list` until its output contains `needle` (or the timeout passes); shows the last output.
  std::string queue_list_until(const std::string& needle, Millis timeout);
  void require(bool ok, std::string_view what);
  /// The gateways of the first act (null until prepared).
  Servers servers() const { return {cloud_.get(), onprem_.get(), mailbox_.get()}; }
  /// wait_until, but a gateway that dies meanwhile (a crash) ends the demo at once, saying how.
  bool wait_for(const std::function<bool()>& ready, Millis timeout, Millis poll = Millis(100)) {
    return wait_while_serving(out_, servers(), ready, timeout, poll);
  }
  /// The lines of `log` (only those after its mark when `only_new`) that contain `needle`, once
  /// there are any; none after `timeout`.
  std::vector<std::string> wait_for_log(const LogCursor& log, const std::string& needle, Millis timeout,
                                        bool only_new = false);
  void diagnostics();

  Options options_;
  Narrator& out_;
  fs::path exe_, work_;
  bool created_work_ = false;
  Ports ports_;
  std::unique_ptr<ServeProcess> cloud_, onprem_, mailbox_;
  std::unique_ptr<PrinterAct> printer_;  ///< the second act, once it started
  std::unique_ptr<LogCursor> onprem_send_, cloud_receive_;
  OnpremPolicy policy_;
  std::string onprem_text_;
  steady_clock::time_point first_submitted_;
  steady_clock::time_point expiry_;  ///< when message 1's shortened lifetime ends (about)
  seconds lifetime_left_{12};
  std::string second_id_;

  fs::path cloud_state() const { return work_ / "cloud" / "state"; }
  fs::path onprem_state() const { return work_ / "onprem" / "state"; }
  fs::path mailbox_state() const { return work_ / "mailbox" / "state"; }
  static std::string bob_message_id(int number) { return fmt::format("<demo-{}-{}@cloud.test>", number, getpid()); }
  std::string partner_endpoint() const { return fmt::format("127.0.0.1:{}", ports_.cloud_partner); }
};

void Scenario::write_onprem(const OnpremPolicy& policy) {
  policy_ = policy;
  onprem_text_ = onprem_config(onprem_state(), ports_, policy);
  std::ofstream(work_ / "onprem" / "sluice.toml") << onprem_text_;
}

void Scenario::require(bool ok, std::string_view what) { out_.require(ok, what); }

std::vector<std::string> Scenario::wait_for_log(const LogCursor& log, const std::string& needle, Millis timeout,
                                                bool only_new) {
  std::vector<std::string> found;
  wait_for(
      [&] {
        found = grep(only_new ? log.new_lines() : log.all(), needle);
        return !found.empty();
      },
      timeout);
  return found;
}

void Scenario::diagnostics() {
  out_.say("\nWhat the gateways logged (last lines), to see where the story went wrong:");
  for (auto* server : {cloud_.get(), onprem_.get(), mailbox_.get()}) {
    if (!server) continue;
    out_.say(fmt::format("{}: sluice serve stderr", server->name()));
    out_.quote(last(lines_of(server->log_of_this_run()), 25));
  }
  if (onprem_send_) {
    out_.say("onprem: send protocol log");
    out_.quote(last(onprem_send_->all(), 25));
  }
  if (cloud_receive_) {
    out_.say("cloud: receive protocol log");
    out_.quote(last(cloud_receive_->all(), 25));
  }
}

void Scenario::prepare() {
  exe_ = self_executable();
  if (options_.work_dir.empty()) {
    std::string pattern = (fs::temp_directory_path() / "sluice-demo.XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("cannot create a work directory in " + pattern);
    work_ = pattern;
    created_work_ = true;
  } else {
    work_ = fs::absolute(options_.work_dir);
    fs::create_directories(work_);
    created_work_ = true;
  }
  fs::create_directories(work_ / "cloud");
  fs::create_directories(work_ / "onprem");
  fs::create_directories(work_ / "mailbox");
  auto free = distinct_free_ports(5);
  ports_.cloud_frontend = free[0];
  ports_.cloud_partner = free[1];
  ports_.onprem = free[2];
  ports_.onprem_partner = free[3];
  ports_.mailbox = free[4];

  std::ofstream(work_ / "cloud" / "sluice.toml") << cloud_config(cloud_state(), ports_);
  write_onprem(OnpremPolicy{});
  cloud_ =
      std::make_unique<ServeProcess>("cloud", exe_, work_ / "cloud" / "sluice.toml", work_ / "cloud" / "serve.log");
  onprem_ =
      std::make_unique<ServeProcess>("onprem", exe_, work_ / "onprem" / "sluice.toml", work_ / "onprem" / "serve.log");
  std::ofstream(work_ / "mailbox" / "recipients") << "# the users of onprem.test\nalice@onprem.test\n";
  std::ofstream(work_ / "mailbox" / "sluice.toml")
      << mailbox_config(mailbox_state(), ports_, work_ / "mailbox" / "recipients");
  mailbox_ = std::make_unique<ServeProcess>("mailbox", exe_, work_ / "mailbox" / "sluice.toml",
                                            work_ / "mailbox" / "serve.log");
  onprem_send_ = std::make_unique<LogCursor>(onprem_state() / "logs" / "ProtocolLog" / "SmtpSend", "SEND");
  cloud_receive_ = std::make_unique<LogCursor>(cloud_state() / "logs" / "ProtocolLog" / "SmtpReceive", "RECV");
}

void Scenario::start_gateways() {
  out_.heading(1, "Start \"cloud\" (an Exchange Online stand-in) and \"onprem\" (an old on-premises server)");
  out_.say(fmt::format("{}:", (work_ / "cloud" / "sluice.toml").string()));
  out_.quote_text(cloud_config(cloud_state(), ports_));
  out_.say(fmt::format("{}:", (work_ / "onprem" / "sluice.toml").string()));
  out_.quote_text(onprem_text_);
  struct Start {
    ServeProcess* server;
    std::vector<std::string> endpoints;
  };
  for (const auto& [server, endpoints] :
       {Start{cloud_.get(), {fmt::format("127.0.0.1:{}", ports_.cloud_frontend), partner_endpoint()}},
        Start{onprem_.get(), {fmt::format("127.0.0.1:{}", ports_.onprem)}}}) {
    out_.command(fmt::format("sluice serve --config {}", server->config().string()));
    Result<void> started = server->start(endpoints, Millis(20000));
    auto log = lines_of(server->log_of_this_run());
    auto shown = grep(log, "listening on");
    for (const auto& line : grep(log, "obsolete")) shown.push_back(line);
    out_.quote(shown);
    if (!started) out_.quote(last(log, 20));
    require(started.ok(), fmt::format("{} is listening on {}{}", server->name(), fmt::join(endpoints, " and "),
                                      started ? "" : " (it " + started.error().message + ")"));
  }
}

std::string Scenario::submit(int number, const std::string& subject, const std::string& body) {
  std::string message = fmt::format(
      "From: Alice <alice@onprem.test>\n"
      "To: Bob <bob@cloud.test>\n"
      "Subject: {}\n"
      "Message-ID: <demo-{}-{}@onprem.test>\n"
      "MIME-Version: 1.0\n"
      "Content-Type: text/plain; charset=us-ascii\n"
      "\n"
      "{}\n",
      subject, number, getpid(), body);
  return submit_via(*onprem_, ports_.onprem, "onprem's receive connector", "alice", "onprem.test", "bob@cloud.test",
                    message);
}

std::string Scenario::submit_via(const ServeProcess& gateway, std::uint16_t port, std::string_view connector,
                                 std::string_view user, std::string_view domain, const std::string& to,
                                 const std::string& message) {
  out_.command(fmt::format("(SMTP to 127.0.0.1:{}, {}, as {}'s mail client)", port, connector, user));
  auto result = submit_message(port, fmt::format("{}-pc.{}", user, domain), fmt::format("{}@{}", user, domain), to,
                               message, Millis(10000));
  out_.quote(shorten_replies(result.transcript));
  require(result.accepted && !result.queue_id.empty(),
          result.accepted ? fmt::format("{} queued the message as {}", gateway.name(), result.queue_id)
                          : gateway.name() + " accepts the message: " + result.error);
  return result.queue_id;
}

void Scenario::show_failed_handshake() {
  out_.heading(3, "onprem's STARTTLS to cloud fails: it offers TLS 1.0, cloud accepts TLS 1.2+");
  out_.say(
      fmt::format("onprem's send connector routes cloud.test to [127.0.0.1]:{} (cloud's partner connector).\n"
                  "It sees STARTTLS offered and starts a handshake its TLS stack cannot finish:",
                  ports_.cloud_partner));
  auto failed = wait_for_log(*onprem_send_, kTlsFailedSend, Millis(20000));
  if (!failed.empty()) {
    out_.say(fmt::format("onprem's send protocol log ({}), the session:", onprem_send_->dir().string() + "/SEND*.LOG"));
    out_.quote(session_lines(onprem_send_->all(), session_of(failed.front())));
  }
  require(!failed.empty(), "onprem's send protocol log says \"" + kTlsFailedSend + "\"");

  std::vector<std::string> refused, offered;
  wait_for(
      [&] {
        auto lines = cloud_receive_->all();
        refused = grep(lines, kTlsFailedReceive);
        offered = grep(lines, kOfferedTls10);
        return !refused.empty() && !offered.empty();
      },
      Millis(5000));
  out_.say(fmt::format("cloud's receive protocol log ({}):", cloud_receive_->dir().string() + "/RECV*.LOG"));
  out_.quote(refused.empty() ? std::vector<std::string>{} : std::vector<std::string>{refused.front()});
  out_.quote(offered.empty() ? std::vector<std::string>{} : std::vector<std::string>{offered.front()});
  out_.check(!refused.empty(), "cloud's receive protocol log says \"" + kTlsFailedReceive + "\"");
  out_.check(!offered.empty(), "cloud's receive protocol log says \"" + kOfferedTls10 + "\"");
}

void Scenario::show_plaintext_retry() {
  out_.heading(4, "The opportunistic fallback: onprem retries without TLS, and cloud refuses plaintext");
  out_.say(
      "The send connector is opportunistic with fallback_to_plaintext = true, as Exchange behaves: after a\n"
      "failed handshake it reconnects without STARTTLS. cloud's partner connector requires TLS from onprem:");
  auto refused = wait_for_log(*onprem_send_, kStartTlsFirst, Millis(15000));
  auto lines = onprem_send_->all();
  if (!refused.empty()) {
    out_.say("onprem's send protocol log, the plaintext session:");
    out_.quote(session_lines(lines, session_of(refused.front())));
  }
  std::vector<std::string> decision;
  for (const char* word : {"plaintext", "without tls", "downgrad", "fallback"})
    for (const auto& line : grep(lines, word, true))
      if (std::find(decision.begin(), decision.end(), line) == decision.end()) decision.push_back(line);
  if (!decision.empty()) {
    out_.say("the downgrade decision, in the send protocol log:");
    out_.quote(decision);
  }
  auto warning = grep(lines_of(onprem_->log_of_this_run()), "without TLS");
  if (!warning.empty()) {
    out_.say("and on onprem's stderr:");
    out_.quote({warning.front()});
  }
  out_.check(!decision.empty(), "onprem's send protocol log records the fallback to plaintext");
  require(!refused.empty(), "cloud answers the plaintext retry \"" + kStartTlsFirst + "\"");
  auto answered = grep(cloud_receive_->all(), kStartTlsFirst);
  if (!answered.empty()) {
    out_.say("cloud's receive protocol log:");
    out_.quote({answered.front()});
  }
  out_.check(!answered.empty(), "cloud's receive protocol log shows the 451 5.7.3 it sent");
}

ChildResult Scenario::queue_command(const std::vector<std::string>& args, bool show) {
  std::vector<std::string> full{"queue"};
  full.insert(full.end(), args.begin(), args.end());
  auto result = run_child(exe_, full, Millis(15000));
  if (show) {
    out_.command(fmt::format("sluice {}", fmt::join(full, " ")));
    out_.quote_text(result.output);
    if (result.exit_status != 0)
      out_.say(result.timed_out ? "(timed out)" : fmt::format("(exit status {})", result.exit_status));
  }
  return result;
}

std::string Scenario::queue_list_until(const std::string& needle, Millis timeout) {
  ChildResult result;
  wait_for(
      [&] {
        result = queue_command({"list", "--state-dir", onprem_state().string()}, false);
        return result.output.find(needle) != std::string::npos;
      },
      timeout, Millis(300));
  out_.command(fmt::format("sluice queue list --state-dir {}", onprem_state().string()));
  out_.quote_text(result.output);
  if (result.exit_status != 0)
    out_.say(result.timed_out ? "(timed out)" : fmt::format("(exit status {})", result.exit_status));
  return result.output;
}

void Scenario::restart_onprem(const OnpremPolicy& policy, std::string_view why) {
  std::string before = onprem_text_;
  out_.command("kill -TERM " + std::to_string(onprem_->pid()) + "   # stop onprem");
  auto status = onprem_->stop(Millis(30000));
  require(status && *status == 0, "onprem stopped cleanly (exit status 0)");
  write_onprem(policy);
  out_.say(fmt::format("{} ({}):", why, onprem_->config().string()));
  out_.quote(line_diff(before, onprem_text_));
  onprem_send_->mark();
  cloud_receive_->mark();
  out_.command(fmt::format("sluice serve --config {}", onprem_->config().string()));
  std::vector<std::string> endpoints{fmt::format("127.0.0.1:{}", ports_.onprem)};
  if (policy.hybrid) endpoints.push_back(fmt::format("127.0.0.1:{}", ports_.onprem_partner));
  Result<void> started = onprem_->start(endpoints, Millis(20000));
  auto log = lines_of(onprem_->log_of_this_run());
  out_.quote(grep(log, "reloaded"));
  if (!started) out_.quote(last(log, 20));
  require(started.ok(),
          "onprem is running again" + (started ? std::string() : " (it " + started.error().message + ")"));
}

void Scenario::show_queue_viewer() {
  out_.heading(5, "The queue viewer: what onprem's administrator sees");
  out_.say("Exchange records \"" + kSocketError +
           "\" for the failed handshake\n"
           "and makes the plaintext retry at its next attempt; sluice makes it in the same attempt, so with\n"
           "the fallback on, the last error is cloud's refusal of the plaintext retry, in Exchange's words:");
  auto output = queue_list_until(kStartTlsFirst, Millis(10000));
  out_.check(output.find(kPrimaryTarget) != std::string::npos,
             "the queue shows the last error \"" + kPrimaryTarget + ".\" ...\"");
  out_.check(
      output.find("[127.0.0.1]:" + std::to_string(ports_.cloud_partner)) != std::string::npos,
      fmt::format("the queue shows the next hop [127.0.0.1]:{} (the smart host for cloud.test)", ports_.cloud_partner));

  out_.say(
      "\nA send connector that requires TLS (as hybrid setups configure the one to Office 365) never falls\n"
      "back, and then every attempt ends at the failed handshake: the queue shows the error Microsoft's article\n"
      "quotes. The administrator turns the fallback off; and, so the demo need not wait Exchange Online's 48\n"
      "hours, the message lifetime becomes a few seconds longer than the message's age:");
  auto age = std::chrono::duration_cast<seconds>(steady_clock::now() - first_submitted_).count();
  lifetime_left_ = seconds(12);
  OnpremPolicy no_fallback = policy_;
  no_fallback.fallback = false;
  no_fallback.lifetime = fmt::format("{}s", age + 1 + lifetime_left_.count());
  expiry_ = steady_clock::now() + lifetime_left_ + seconds(1);
  restart_onprem(no_fallback, "fallback_to_plaintext off, lifetime shortened");

  auto output2 = queue_list_until(kSocketError, Millis(20000));
  auto fresh = onprem_send_->new_lines();
  auto failed = grep(fresh, kTlsFailedSend);
  if (!failed.empty()) {
    out_.say("onprem's send protocol log, the new attempt:");
    out_.quote(session_lines(fresh, session_of(failed.front())));
  }
  out_.check(output2.find(kSocketError) != std::string::npos,
             "the queue shows the last error \"" + kSocketError + "\"");
  out_.check(!failed.empty() && grep(fresh, kStartTlsFirst).empty(),
             "the new attempt failed at the handshake and made no plaintext retry");
}

void Scenario::show_ndr() {
  out_.heading(6, "The lifetime runs out: alice gets a non-delivery report");
  auto mailbox = onprem_state() / "maildir" / "alice";
  auto left = std::chrono::duration_cast<seconds>(expiry_ - steady_clock::now()).count();
  out_.say(fmt::format("Waiting for the lifetime to end (about {} s) and the NDR to land in {}/new ...",
                       std::max<long long>(left, 0), mailbox.string()));
  auto files = wait_for_mail(out_, servers(), mailbox, Millis(std::max<long long>(left, 0) * 1000 + 30000));
  bool arrived = !files.empty();
  if (!arrived) {
    queue_command({"list", "--state-dir", onprem_state().string()});
  }
  require(arrived, "a message arrived in alice's mailbox at onprem");
  std::string ndr = read_file(files.front());
  out_.say(files.front().string() + ":");
  std::vector<std::string> shown;
  for (const char* name : {"From", "To", "Subject", "Content-Type"})
    if (auto value = header_value(ndr, name)) shown.push_back(std::string(name) + ": " + *value);
  out_.quote(shown);

  // The part written for people: its first lines say what went wrong in plain words.
  auto plain = ndr.find("Content-Type: text/plain");
  if (plain != std::string::npos) {
    auto body = ndr.find("\r\n\r\n", plain);
    if (body != std::string::npos) {
      std::vector<std::string> text;
      for (const auto& line : lines_of(ndr.substr(body + 4, 4000))) {
        std::string clean = line;
        if (!clean.empty() && clean.back() == '\r') clean.pop_back();
        if (clean.rfind("--", 0) == 0 || text.size() >= 30) break;
        text.push_back(clean);
      }
      while (!text.empty() && text.back().empty()) text.pop_back();
      out_.say("its human-readable part:");
      out_.quote(text);
    }
  }
  std::vector<std::string> fields;
  for (const char* name : {"Final-Recipient", "Action", "Status", "Remote-MTA", "Diagnostic-Code"})
    for (const auto& line : field_lines(ndr, name)) fields.push_back(line);
  out_.say("its delivery-status part:");
  out_.quote(fields);

  auto content_type = header_value(ndr, "Content-Type").value_or("");
  auto action = field_lines(ndr, "Action");
  auto diagnostic = field_lines(ndr, "Diagnostic-Code");
  out_.check(content_type.find("multipart/report") != std::string::npos &&
                 content_type.find("report-type=delivery-status") != std::string::npos,
             "it is a multipart/report; report-type=delivery-status (RFC 3464)");
  out_.check(header_value(ndr, "Subject").value_or("").rfind("Undeliverable:", 0) == 0,
             "its Subject says Undeliverable");
  out_.check(!action.empty() && action.front().find("failed") != std::string::npos, "Action: failed");
  out_.check(!diagnostic.empty() && diagnostic.front().find(kSocketError) != std::string::npos,
             "Diagnostic-Code: smtp; " + kSocketError);
}

void Scenario::apply_fix() {
  out_.heading(7, "The fix: TLS 1.2 on onprem's side, restart, retry the queue");
  out_.say("Another message to bob is queued the same way while onprem still speaks TLS 1.0 only:");
  onprem_send_->mark();
  second_id_ = submit(2, "Quarterly figures, second try", "Bob, resending the figures.\n-- Alice");
  auto failed = wait_for_log(*onprem_send_, kTlsFailedSend, Millis(15000), true);
  require(!failed.empty(), "its first attempt failed at the handshake as well");
  // The deferral is recorded just after the attempt; wait for it so the restart reloads it deferred.
  queue_list_until(kSocketError, Millis(10000));

  out_.say(
      "\nThe fix is Microsoft's: enable TLS 1.2 on the server (SCHANNEL), restart. Here: the send\n"
      "connector's tls_policy goes to the default profile (TLS 1.2 and 1.3):");
  OnpremPolicy fixed = policy_;
  fixed.legacy_tls = false;
  restart_onprem(fixed, "tls_policy at TLS 1.2+");
  auto retried = queue_command({"retry", second_id_, "--state-dir", onprem_state().string()});
  out_.check(retried.exit_status == 0 || !maildir_new(cloud_state() / "maildir" / "bob").empty(),
             "sluice queue retry made the message due now (or it had gone already)");

  auto mailbox = cloud_state() / "maildir" / "bob";
  auto files = wait_for_mail(out_, servers(), mailbox, Millis(20000));
  bool delivered = !files.empty();
  if (!delivered) queue_command({"list", "--state-dir", onprem_state().string()});
  require(delivered, "the message reached bob's mailbox at cloud");
  std::string message = read_file(files.front());
  out_.say(files.front().string() + ":");
  std::vector<std::string> shown;
  auto received = header_value(message, "Received").value_or("");
  for (const char* name : {"Received", "Subject"})
    if (auto value = header_value(message, name)) shown.push_back(std::string(name) + ": " + *value);
  out_.quote(shown);
  out_.check(
      received.find("(version=TLS1_2") != std::string::npos || received.find("(version=TLS1_3") != std::string::npos,
      "cloud's Received header says version=TLS1_2 or TLS1_3");
  out_.check(header_value(message, "Subject").value_or("") == "Quarterly figures, second try",
             "it is the message that was stuck in onprem's queue");

  auto send = onprem_send_->new_lines();
  auto client = grep(send, "SP_PROT_TLS1_2_CLIENT");
  for (const auto& line : grep(send, "SP_PROT_TLS1_3_CLIENT")) client.push_back(line);
  auto receive = cloud_receive_->new_lines();
  auto server = grep(receive, "SP_PROT_TLS1_2_SERVER");
  for (const auto& line : grep(receive, "SP_PROT_TLS1_3_SERVER")) server.push_back(line);
  out_.say("onprem's send protocol log:");
  out_.quote(client);
  out_.say("cloud's receive protocol log:");
  out_.quote(server);
  out_.check(!client.empty(),
             "onprem's send protocol log: TLS protocol SP_PROT_TLS1_2_CLIENT or SP_PROT_TLS1_3_CLIENT");
  out_.check(!server.empty(),
             "cloud's receive protocol log: TLS protocol SP_PROT_TLS1_2_SERVER or SP_PROT_TLS1_3_SERVER");

  // The envelope goes once delivery is recorded; give it a moment.
  std::string hop = "[127.0.0.1]:" + std::to_string(ports_.cloud_partner);
  ChildResult list;
  wait_for(
      [&] {
        list = queue_command({"list", "--state-dir", onprem_state().string()}, false);
        return list.exit_status == 0 && list.output.find(hop) == std::string::npos;
      },
      Millis(5000), Millis(300));
  out_.command(fmt::format("sluice queue list --state-dir {}", onprem_state().string()));
  out_.quote_text(list.output);
  out_.check(list.exit_status == 0 && list.output.find(hop) == std::string::npos, "nothing waits for cloud any more");
}

std::string Scenario::submit_from_bob(int number, const std::string& to, const std::string& subject) {
  std::string message = fmt::format(
      "From: Bob <bob@cloud.test>\n"
      "To: <{}>\n"
      "Subject: {}\n"
      "Message-ID: {}\n"
      "\n"
      "Thanks, Alice: the figures arrived.\n-- Bob\n",
      to, subject, bob_message_id(number));
  return submit_via(*cloud_, ports_.cloud_frontend, "cloud's frontend", "bob", "cloud.test", to, message);
}

void Scenario::show_hybrid_inbound() {
  out_.heading(8, "The hybrid direction: bob@cloud.test writes to alice@onprem.test");
  out_.say(
      "In a hybrid setup alice's mailbox is on an internal server and onprem is the gateway in front of it.\n"
      "\"mailbox\" plays that server:");
  out_.quote_text(read_file(mailbox_->config()));
  std::string endpoint = fmt::format("127.0.0.1:{}", ports_.mailbox);
  out_.command(fmt::format("sluice serve --config {}", mailbox_->config().string()));
  Result<void> started = mailbox_->start({endpoint}, Millis(20000));
  out_.quote(grep(lines_of(mailbox_->log_of_this_run()), "listening on"));
  require(started.ok(),
          "mailbox is listening on " + endpoint + (started ? "" : " (it " + started.error().message + ")"));
  OnpremPolicy hybrid = policy_;
  hybrid.hybrid = true;
  restart_onprem(hybrid,
                 "onprem becomes the hybrid gateway: onprem.test is internal-relay, sent on to \"mailbox\",\n"
                 "its recipients checked there by callout, and a partner connector takes cloud's mail over TLS");

  out_.say("\nbob writes to alice; cloud's send connector for onprem.test requires TLS 1.2:");
  submit_from_bob(3, "alice@onprem.test", "Re: Quarterly figures");
  auto files = wait_for_mail(out_, servers(), mailbox_state() / "maildir" / "alice", Millis(20000));
  require(!files.empty(), "the message reached alice's mailbox at \"mailbox\"");
  std::string message = read_file(files.front());
  auto received = field_lines(message.substr(0, message.find("\r\n\r\n")), "Received");
  out_.say(files.front().string() + ", its Received chain (newest first):");
  out_.quote(received);
  auto hop = [&](std::size_t i, const std::string& from, const std::string& by) {
    return received.size() > i && received[i].find("from " + from) != std::string::npos &&
           received[i].find("by " + by) != std::string::npos;
  };
  out_.check(received.size() == 3 && hop(0, "exch2010.onprem.test", "mailbox.onprem.test") &&
                 hop(1, "mx.cloud.test", "exch2010.onprem.test") && hop(2, "bob-pc.cloud.test", "mx.cloud.test"),
             "Received: cloud -> onprem (the gateway) -> mailbox");
  out_.check(received.size() > 1 && received[1].find("version=TLS1_2") != std::string::npos,
             "cloud -> onprem went over TLS 1.2 (version=TLS1_2 in onprem's Received)");

  LogCursor tracking(onprem_state() / "logs" / "MessageTracking", "MSGTRK");
  std::vector<std::string> receive, send;
  wait_for(
      [&] {
        auto lines = grep(tracking.all(), bob_message_id(3));
        receive = grep(lines, ",RECEIVE,");
        send = grep(lines, ",SEND,");
        return !receive.empty() && !send.empty();
      },
      Millis(10000));
  out_.say(fmt::format("onprem's message tracking log ({}/MSGTRK*.LOG):", tracking.dir().string()));
  out_.quote(receive);
  out_.quote(send);
  out_.check(!receive.empty() && !send.empty() && grep(receive, ",Inbound from Office 365,").size() == 1 &&
                 grep(send, ",To the mailbox server,").size() == 1,
             "onprem's tracking log: RECEIVE on \"Inbound from Office 365\", SEND via \"To the mailbox server\"");
  auto track = run_child(exe_, {"track", "--config", onprem_->config().string(), "--recipient", "alice@onprem.test"},
                         Millis(15000));
  out_.command(fmt::format("sluice track --config {} --recipient alice@onprem.test", onprem_->config().string()));
  out_.quote_text(track.output);
  out_.check(track.exit_status == 0 && track.output.find("RECEIVE") != std::string::npos &&
                 track.output.find("SEND") != std::string::npos &&
                 track.output.find("\"Inbound from Office 365\"") != std::string::npos,
             "sluice track finds it: received on \"Inbound from Office 365\", sent on to mailbox");

  out_.say("\nA message to a user mailbox does not know: onprem asks mailbox (callout) and refuses it at RCPT:");
  LogCursor cloud_send(cloud_state() / "logs" / "ProtocolLog" / "SmtpSend", "SEND");
  submit_from_bob(4, "nobody@onprem.test", "Are you there?");
  const std::string not_found = "550 5.1.10 RESOLVER.ADR.RecipientNotFound";
  auto refused = wait_for_log(cloud_send, not_found, Millis(15000));
  out_.say(fmt::format("cloud's send protocol log ({}/SEND*.LOG):", cloud_send.dir().string()));
  out_.quote(refused);
  out_.check(!refused.empty(), "onprem refused nobody@onprem.test at RCPT: \"" + not_found + "\"");
  out_.check(!fs::exists(mailbox_state() / "maildir" / "nobody"), "nothing reached mailbox for nobody@onprem.test");
}

void Scenario::stop_gateways() {
  out_.heading(9, "Stop the gateways and the mailbox server");
  stop_servers(out_, {onprem_.get(), cloud_.get(), mailbox_.get()}, /*quote_stopped_lines=*/true);
}

void Scenario::run_printer_act() {
  const int first_step = 10;
  if (auto why = dovecot_unavailable()) {
    out_.heading(first_step, "The second act, \"the printer\": skipped");
    out_.say(fmt::format("sluice demo: the second act is skipped: {}.", *why));
    return;
  }
  printer_ = std::make_unique<PrinterAct>(out_, exe_, work_, first_step);
  printer_->run();
}

int Scenario::run() {
  auto started = steady_clock::now();
  out_.title(
      "sluice demo: mail from an on-premises server to Exchange Online after TLS 1.0 was switched off,\n"
      "reproduced with two real gateways on loopback, then fixed; and the hybrid direction, from Exchange\n"
      "Online through the on-premises gateway to the internal mail server. Second act, \"the printer\": a\n"
      "TLS 1.0 device with AUTH LOGIN, its sender rewritten, delivered to Exchange Online with OAuth (XOAUTH2).");
  int status = 0;
  try {
    prepare();
    out_.say(fmt::format("Work directory: {} ({})\n", work_.string(),
                         options_.keep ? "kept afterwards" : "removed afterwards; --keep keeps it"));
    start_gateways();
    out_.heading(2, "alice@onprem.test writes to bob@cloud.test");
    first_submitted_ = steady_clock::now();
    submit(1, "Quarterly figures", "Hello Bob,\nthe figures are attached (in spirit).\n-- Alice");
    show_failed_handshake();
    show_plaintext_retry();
    show_queue_viewer();
    show_ndr();
    apply_fix();
    show_hybrid_inbound();
    stop_gateways();
    run_printer_act();
  } catch (const StepFailed& e) {
    out_.say(fmt::format("\nThe demo cannot go on: {}.", e.what()));
    diagnostics();
    if (printer_) printer_->diagnostics();
    status = kFailed;
  } catch (const Interrupted&) {
    fmt::print("\nsluice demo: interrupted; stopping the gateways\n");
    status = kInterrupted;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sluice demo: {}\n", e.what());
    status = kFailed;
  }
  // Stops whatever still runs (after a failure or an interrupt).
  cloud_.reset();
  onprem_.reset();
  mailbox_.reset();
  printer_.reset();
  if (created_work_ && !work_.empty()) {
    if (options_.keep) {
      fmt::print("\nThe work directory is kept: {}\n", work_.string());
    } else {
      std::error_code ec;
      fs::remove_all(work_, ec);
    }
  }
  if (status == kInterrupted) return status;
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - started).count();
  if (status == 0 && out_.failed() == 0) {
    fmt::print("\nsluice demo: all {} checks passed in {:.1f} s.\n", out_.passed(), elapsed / 1000.0);
    return 0;
  }
  fmt::print("\nsluice demo: {} of {} checks failed ({:.1f} s){}.\n", out_.failed(), out_.passed() + out_.failed(),
             elapsed / 1000.0, options_.keep ? "" : "; run with --keep to look at the logs and mailboxes");
  return kFailed;
}

}  // namespace

int run(const Options& options) {
  Narrator out;
  Scenario scenario(options, out);
  return scenario.run();
}

}  // namespace sluice::demo
