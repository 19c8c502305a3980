#include "demo/printer_act.h"

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <fstream>
#include <thread>

#include "base/base64.h"
#include "demo/files.h"
#include "demo/introspection_endpoint.h"
#include "demo/message_fields.h"
#include "demo/printer_configs.h"
#include "demo/process.h"
#include "demo/protocol_log_reader.h"
#include "demo/server_watch.h"
#include "demo/submitter.h"
#include "demo/text.h"
#include "demo/token_endpoint.h"
#include "tls/certificates.h"

namespace sluice::demo {
namespace {

const fs::path kDovecot = "/usr/sbin/dovecot";
const fs::path kDovecotSubmission = "/usr/lib/dovecot/submission";
const std::string kClientId = "6f1c2a9e-5b7d-4c1e-9f3a-0d2c8e7b4a61";
const std::string kClientSecret = "Qx8~demo.client-secret_value";
const std::string kTokenPath = "/contoso.onmicrosoft.test/oauth2/v2.0/token";
const std::string kScope = "https://outlook.office365.com/.default";
const std::string kAppMailbox = "scanner@contoso.test";
const std::string kDeviceUser = "scanner";
const std::string kDevicePassword = "Print-2-Mail!";
const std::string kDeviceSender = "scanner@printer.local";
const std::string kRecipient = "frank@contoso.test";

/// Who the demo is, as Dovecot's configuration names its users.
DovecotUser dovecot_user() {
  DovecotUser user;
  user.root = geteuid() == 0;
  if (user.root) return user;
  user.uid = geteuid();
  user.gid = getegid();
  const passwd* pw = getpwuid(user.uid);
  const group* gr = getgrgid(user.gid);
  user.name = pw ? pw->pw_name : std::to_string(user.uid);
  user.group = gr ? gr->gr_name : std::to_string(user.gid);
  return user;
}

}  // namespace

std::optional<std::string> dovecot_unavailable() {
  if (!fs::exists(kDovecot) || !fs::exists(kDovecotSubmission))
    return "Dovecot's submission service is not installed (scripts/install-deps installs dovecot-core and "
           "dovecot-submissiond)";
  return std::nullopt;
}

struct PrinterAct::State {
  Narrator& out;
  fs::path exe, dir;
  int step;
  PrinterPorts ports;
  fs::path ca_file;  ///< what sluice trusts for the token endpoint
  // The HTTP endpoints run on this thread; declared first so that it outlives them.
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
  std::unique_ptr<TokenEndpoint> endpoint;
  std::unique_ptr<IntrospectionEndpoint> introspection;
  std::unique_ptr<ServeProcess> mailbox, dovecot, relay;
  std::unique_ptr<LogCursor> relay_receive, relay_send;

  State(Narrator& o, fs::path e, fs::path d, int s) : out(o), exe(std::move(e)), dir(std::move(d)), step(s) {}

  ~State() {
    relay.reset();
    dovecot.reset();
    mailbox.reset();
    if (thread.joinable()) {
      work.reset();
      io.stop();
      thread.join();
    }
  }

  fs::path relay_state() const { return dir / "relay" / "state"; }
  fs::path mailbox_state() const { return dir / "exo-mailbox" / "state"; }
  fs::path dovecot_dir() const { return dir / "dovecot"; }
  fs::path dovecot_log() const { return dovecot_dir() / "dovecot.log"; }

  void heading(std::string_view text) { out.heading(step++, text); }

  /// The act's servers, in the order they stop (null until started).
  Servers servers() const { return {relay.get(), dovecot.get(), mailbox.get()}; }
  /// wait_until, but a server that dies meanwhile ends the act at once, saying how.
  bool wait_for(const std::function<bool()>& ready, Millis timeout) {
    return wait_while_serving(out, servers(), ready, timeout);
  }

  void start_exchange_online();
  void start_relay();
  void submit_from_printer();
  void show_delivery_to_exchange_online();
  void show_mailbox();
  void stop_all();
};

void PrinterAct::State::start_exchange_online() {
  heading("The second act, \"the printer\": Exchange Online for applications wants TLS 1.2 and OAuth 2.0");
  out.say(
      "smtp.office365.com:587 takes SMTP AUTH client submission over TLS 1.2+ only, and once Basic\n"
      "authentication is off only AUTH XOAUTH2 with an access token from the tenant's Entra ID. Here, on\n"
      "loopback: Dovecot submission with its oauth2 passdb, and two endpoints the demo serves itself: the\n"
      "token endpoint (HTTPS, a certificate the demo makes, as sluice makes its own) and the token\n"
      "introspection that Dovecot asks about each token (RFC 7662).");
  fs::create_directories(dir / "pki");
  auto certificates = tls::ensure_self_signed(dir / "pki", "login.microsoftonline.test");
  const tls::CertificateFiles& certificate = certificates.front();
  ca_file = certificate.chain;  // self-signed: its own CA

  endpoint = std::make_unique<TokenEndpoint>(io, AppRegistration{kTokenPath, kClientId, kClientSecret}, certificate);
  introspection = std::make_unique<IntrospectionEndpoint>(io, [this](const std::string& token) {
    return endpoint->issued(token) ? std::optional<std::string>(kAppMailbox) : std::nullopt;
  });
  work.emplace(io.get_executor());
  thread = std::thread([this] { io.run(); });
  out.say(fmt::format("token endpoint:  {} (its certificate: {})\nintrospection:   {}", endpoint->url(),
                      certificate.chain.string(), introspection->url()));

  // The mailboxes behind Exchange Online.
  fs::create_directories(dir / "exo-mailbox");
  auto mailbox_toml = dir / "exo-mailbox" / "sluice.toml";
  std::ofstream(mailbox_toml) << exo_mailbox_config(mailbox_state(), ports);
  mailbox = std::make_unique<ServeProcess>("exo-mailbox", exe, mailbox_toml, dir / "exo-mailbox" / "serve.log");
  std::string mailbox_endpoint = fmt::format("127.0.0.1:{}", ports.mailbox);
  out.command(fmt::format("sluice serve --config {}   # the mailboxes of contoso.test", mailbox_toml.string()));
  auto started = mailbox->start({mailbox_endpoint}, Millis(20000));
  out.require(started.ok(), "exo-mailbox is listening on " + mailbox_endpoint +
                                (started ? "" : " (it " + started.error().message + ")"));

  // Dovecot: its folder traversable by its unprivileged processes (dovenull, dovecot).
  fs::create_directories(dovecot_dir());
  for (const char* sub : {"run", "state", "mail"}) fs::create_directories(dovecot_dir() / sub);
  for (const fs::path& p : {dir.parent_path(), dir}) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) ::chmod(p.c_str(), (st.st_mode & 07777) | 0711);
  }
  ::chmod(dovecot_dir().c_str(), 0755);
  ::chmod((dovecot_dir() / "mail").c_str(), 0777);
  auto oauth2_file = dovecot_dir() / "dovecot-oauth2.conf.ext";
  std::ofstream(oauth2_file) << dovecot_oauth2_config(introspection->url());
  auto conf = dovecot_dir() / "dovecot.conf";
  std::string conf_text =
      dovecot_config(dovecot_dir(), certificate.chain, certificate.key, oauth2_file, ports, dovecot_user());
  std::ofstream(conf) << conf_text;
  out.say(conf.string() + " (its essentials):");
  std::vector<std::string> essentials;
  for (const char* key : {"ssl_min_protocol", "auth_mechanisms", "driver = oauth2", "port ="})
    for (const auto& line : grep(lines_of(conf_text), key)) essentials.push_back(line);
  essentials.push_back("(" + oauth2_file.filename().string() + ") introspection_url = " + introspection->url());
  out.quote(essentials);
  dovecot = ServeProcess::other("dovecot", kDovecot, {"-F", "-c", conf.string()}, dovecot_dir() / "stderr.log");
  out.command(fmt::format("dovecot -F -c {}", conf.string()));
  started = dovecot->start_until([&] { return accepts_connections(ports.submission); },
                                 "accept connections on its port", Millis(20000));
  if (!started) out.quote(last(lines_of(read_file(dovecot_log()) + dovecot->log_of_this_run()), 15));
  out.require(started.ok(), fmt::format("Dovecot submission is listening on 127.0.0.1:{}{}", ports.submission,
                                        started ? "" : " (it " + started.error().message + ")"));
}

void PrinterAct::State::start_relay() {
  heading("\"relay\": sluice for the devices, with AUTH on a legacy TLS connector and OAuth to Exchange Online");
  fs::create_directories(dir / "relay");
  auto secret_file = dir / "relay" / "client.secret";
  { std::ofstream(secret_file) << kClientSecret << "\n"; }
  fs::permissions(secret_file, fs::perms::owner_read | fs::perms::owner_write);
  auto users_file = dir / "relay" / "users";
  OAuthClient client{endpoint->url(), kClientId, secret_file, ca_file, kAppMailbox};
  auto toml = dir / "relay" / "sluice.toml";
  std::string text = relay_config(relay_state(), users_file, ports, client);
  std::ofstream(toml) << text;
  out.say(toml.string() + ":");
  out.quote_text(text);
  out.say(fmt::format("The app registration's secret is in {} (mode 0600). The printer gets a user of its own:",
                      secret_file.string()));
  std::vector<std::string> add = {"user",     "add",       kDeviceUser,       "--file", users_file.string(),
                                  "--sender", kAppMailbox, "--password-stdin"};
  out.command(fmt::format("echo '****' | sluice user add {} --file {} --sender {} --password-stdin", kDeviceUser,
                          users_file.string(), kAppMailbox));
  auto added = run_child(exe, add, Millis(20000), kDevicePassword + "\n");
  out.quote_text(added.output);
  auto listed = run_child(exe, {"user", "list", "--file", users_file.string()}, Millis(20000));
  out.command(fmt::format("sluice user list --file {}", users_file.string()));
  out.quote_text(listed.output);
  out.require(added.exit_status == 0 && listed.output.find(kDeviceUser) != std::string::npos &&
                  read_file(users_file).find(kDevicePassword) == std::string::npos,
              "the users file has scanner, its password only as a crypt(3) hash");

  relay = std::make_unique<ServeProcess>("relay", exe, toml, dir / "relay" / "serve.log");
  relay_receive = std::make_unique<LogCursor>(relay_state() / "logs" / "ProtocolLog" / "SmtpReceive", "RECV");
  relay_send = std::make_unique<LogCursor>(relay_state() / "logs" / "ProtocolLog" / "SmtpSend", "SEND");
  std::string devices = fmt::format("127.0.0.1:{}", ports.devices);
  out.command(fmt::format("sluice serve --config {}", toml.string()));
  auto started = relay->start({devices}, Millis(20000));
  auto log = lines_of(relay->log_of_this_run());
  out.quote(grep(log, "listening on"));
  if (!started) out.quote(last(log, 20));
  out.require(started.ok(),
              "relay is listening on " + devices + (started ? "" : " (it " + started.error().message + ")"));
}

void PrinterAct::State::submit_from_printer() {
  heading("The printer scans to frank@contoso.test: STARTTLS with TLS 1.0, AUTH LOGIN, a made-up sender");
  std::string message = fmt::format(
      "From: Scanner <{}>\n"
      "To: <{}>\n"
      "Subject: Scanned document\n"
      "Message-ID: <scan-{}@printer.local>\n"
      "MIME-Version: 1.0\n"
      "Content-Type: text/plain; charset=us-ascii\n"
      "\n"
      "Scan job 0042, 3 pages.\n",
      kDeviceSender, kRecipient, getpid());
  out.command(fmt::format("(SMTP to 127.0.0.1:{}, relay's \"Devices\" connector, as the printer: TLS 1.0 at most)",
                          ports.devices));
  DeviceSession device{true, TLS1_VERSION, kDeviceUser, kDevicePassword};
  auto result =
      submit_message(ports.devices, "printer.local", kDeviceSender, kRecipient, message, Millis(15000), device);
  out.quote(shorten_replies(result.transcript));
  out.require(result.accepted, result.accepted ? fmt::format("relay queued the message as {}", result.queue_id)
                                               : "relay accepts the printer's message: " + result.error);
  out.check(result.tls_version == "TLSv1", "the printer's handshake was TLS 1.0 (" + result.tls_version + ")");

  std::vector<std::string> session;
  wait_for(
      [&] {
        auto lines = relay_receive->all();
        auto rewritten = grep(lines, "Sender rewritten");
        if (rewritten.empty()) return false;
        session = session_lines(lines, session_of(rewritten.front()));
        return true;
      },
      Millis(10000));
  out.say(fmt::format("relay's receive protocol log ({}/RECV*.LOG), the session:", relay_receive->dir().string()));
  out.quote(session);
  std::string text = fmt::format("{}", fmt::join(session, "\n"));
  auto auth = grep(session, ",AUTH LOGIN");
  out.check(!grep(session, "SP_PROT_TLS1_0_SERVER").empty(),
            "relay's receive protocol log: TLS protocol SP_PROT_TLS1_0_SERVER on the \"Devices\" connector");
  out.check(!auth.empty() && !grep(session, "235 2.7.0").empty() && !grep(session, ",****").empty() &&
                text.find(kDevicePassword) == std::string::npos &&
                text.find(base64_encode(kDevicePassword)) == std::string::npos,
            "AUTH LOGIN accepted (235 2.7.0), the password logged as ****");
  out.check(!grep(session, "Sender rewritten: " + kDeviceSender + " -> " + kAppMailbox).empty(),
            "the envelope sender rewritten: " + kDeviceSender + " -> " + kAppMailbox);
}

void PrinterAct::State::show_delivery_to_exchange_online() {
  heading("relay fetches an OAuth token and authenticates to Exchange Online with AUTH XOAUTH2");
  std::vector<TokenRequestSeen> requests;
  wait_for(
      [&] {
        requests = endpoint->requests();
        return !requests.empty();
      },
      Millis(15000));
  out.say(fmt::format("What the token endpoint received (POST {}):", kTokenPath));
  std::vector<std::string> shown;
  for (const auto& r : requests)
    shown.push_back(fmt::format("grant_type={} client_id={} scope={} client_secret=({}) -> HTTP {}", r.grant_type,
                                r.client_id, r.scope, r.secret_matched ? "the app's secret; not shown" : "WRONG",
                                r.status));
  out.quote(shown);
  out.check(requests.size() == 1 && requests[0].grant_type == "client_credentials" &&
                requests[0].client_id == kClientId && requests[0].scope == kScope && requests[0].secret_matched &&
                requests[0].status == 200,
            "one token request: the client credentials grant for the app, scope " + kScope);

  std::vector<std::string> session;
  wait_for(
      [&] {
        auto lines = relay_send->all();
        auto ok = grep(lines, "235 2.7.0");
        if (ok.empty()) return false;
        session = session_lines(lines, session_of(ok.front()));
        return !grep(session, "250 2.0.0").empty() || !grep(session, ",<,250 ").empty();
      },
      Millis(15000));
  out.say(fmt::format("relay's send protocol log ({}/SEND*.LOG), the session:", relay_send->dir().string()));
  out.quote(session);
  std::string text = fmt::format("{}", fmt::join(relay_send->all(), "\n"));
  bool no_secret = text.find(kClientSecret) == std::string::npos;
  for (const auto& token : endpoint->issued_tokens()) no_secret = no_secret && text.find(token) == std::string::npos;
  out.check(!grep(session, "AUTH XOAUTH2 ****").empty() && !grep(session, "235 2.7.0").empty() && no_secret,
            "relay's send protocol log: AUTH XOAUTH2 **** answered 235 2.7.0; neither token nor secret in it");
  out.check(!grep(session, "SP_PROT_TLS1_2_CLIENT").empty() || !grep(session, "SP_PROT_TLS1_3_CLIENT").empty(),
            "relay -> Exchange Online over TLS 1.2 or 1.3");

  std::vector<std::string> login;
  wait_for(
      [&] {
        login = grep(lines_of(read_file(dovecot_log())), "Login: user=<" + kAppMailbox + ">, method=XOAUTH2");
        return !login.empty();
      },
      Millis(10000));
  out.say(fmt::format("Dovecot's log ({}):", dovecot_log().string()));
  out.quote(login);
  out.check(!login.empty() && introspection->active_answers() >= 1,
            "Dovecot logged " + kAppMailbox + " in with XOAUTH2, the token confirmed by introspection");
}

void PrinterAct::State::show_mailbox() {
  heading("The message in frank's mailbox, sent as scanner@contoso.test");
  auto maildir = mailbox_state() / "maildir" / "frank";
  std::vector<fs::path> files = wait_for_mail(out, servers(), maildir, Millis(15000));
  out.require(!files.empty(), "the message reached frank's mailbox (" + maildir.string() + ")");
  std::string message = read_file(files.front());
  std::string head = message.substr(0, message.find("\r\n\r\n"));
  out.say(files.front().string() + ":");
  std::vector<std::string> shown = field_lines(head, "Received");
  for (const char* name : {"From", "X-Original-Sender", "Subject"})
    if (auto value = header_value(message, name)) shown.push_back(std::string(name) + ": " + *value);
  out.quote(shown);
  out.check(header_value(message, "From").value_or("").find(kAppMailbox) != std::string::npos &&
                header_value(message, "X-Original-Sender").value_or("").find(kDeviceSender) != std::string::npos,
            "From: " + kAppMailbox + ", the printer's own address kept in X-Original-Sender");
  out.check(header_value(message, "Subject").value_or("") == "Scanned document", "it is the printer's scan");
}

void PrinterAct::State::stop_all() {
  heading("Stop the second act's servers");
  stop_servers(out, servers(), /*quote_stopped_lines=*/false);
  work.reset();
  io.stop();
  thread.join();
  out.say("The token endpoint and the introspection endpoint are closed.");
}

PrinterAct::PrinterAct(Narrator& out, fs::path exe, const fs::path& work, int first_step)
    : state_(std::make_unique<State>(out, std::move(exe), work / "printer", first_step)) {
  auto& ports = state_->ports;
  auto free = distinct_free_ports(3);
  ports.devices = free[0];
  ports.submission = free[1];
  ports.mailbox = free[2];
}

PrinterAct::~PrinterAct() = default;

void PrinterAct::run() {
  state_->start_exchange_online();
  state_->start_relay();
  state_->submit_from_printer();
  state_->show_delivery_to_exchange_online();
  state_->show_mailbox();
  state_->stop_all();
}

void PrinterAct::diagnostics() {
  auto& s = *state_;
  for (auto* server : {s.relay.get(), s.mailbox.get()}) {
    if (!server) continue;
    s.out.say(fmt::format("{}: sluice serve stderr", server->name()));
    s.out.quote(last(lines_of(server->log_of_this_run()), 25));
  }
  s.out.say("dovecot: its log");
  s.out.quote(last(lines_of(read_file(s.dovecot_log())), 25));
  if (s.relay_send) {
    s.out.say("relay: send protocol log");
    s.out.quote(last(s.relay_send->all(), 25));
  }
}

}  // namespace sluice::demo
