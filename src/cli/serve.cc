// `sluice serve`: load the configuration, prepare TLS and the state directory, run the gateway
// until SIGTERM/SIGINT.
#include <fmt/format.h>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>

#include <sys/resource.h>

#include <iostream>
#include <optional>

#include "base/logging.h"
#include "base/open_files.h"
#include "base/service_manager.h"
#include "cli/command_line.h"
#include "cli/stop_signals.h"
#include "cli/subcommand.h"
#include "config/config.h"
#include "control/control_socket.h"
#include "inbound/recipient_validation.h"
#include "inbound/server.h"
#include "inbound/users_file.h"
#include "metrics/admin_server.h"
#include "net/dns.h"
#include "outbound/callout.h"
#include "outbound/delivery_engine.h"
#include "outbound/engine_metrics.h"
#include "outbound/send_credentials.h"
#include "protocol_log/protocol_log.h"
#include "queue/maildir.h"
#include "queue/spool.h"
#include "tls/certificates.h"
#include "tls/client_certificates.h"
#include "tls/client_context.h"
#include "tls/server_context.h"
#include "tracking/tracking_log.h"

namespace sluice::cli {
namespace {

constexpr int kConfigError = 2;
constexpr int kRuntimeError = 1;

struct ServeOptions {
  std::string config_file;
  std::vector<std::string> listen;
  std::string state_dir;
  std::string hostname;
  bool check = false;
};

/// The configuration with command-line overrides applied; throws ConfigError.
config::Config load(const ServeOptions& options) {
  config::Config cfg =
      options.config_file.empty() ? config::default_config() : config::load_config(options.config_file);
  if (!options.state_dir.empty()) cfg.state_dir = options.state_dir;
  if (!options.hostname.empty()) cfg.hostname = options.hostname;
  if (!options.listen.empty()) {
    std::vector<config::ListenAddress> addresses;
    for (const auto& text : options.listen) {
      auto address = config::parse_listen_address(text);
      if (!address)
        throw config::ConfigError(
            fmt::format("--listen: \"{}\" is not ADDRESS:PORT (e.g. 127.0.0.1:2525 or [::1]:2525)", text));
      addresses.push_back(*address);
    }
    cfg.receive_connectors.front().listen = addresses;
  }
  return cfg;
}

/// One TLS context per connector; the generated certificates serve connectors without their own.
std::map<std::string, std::shared_ptr<asio::ssl::context>> make_tls_contexts(const config::Config& cfg) {
  std::map<std::string, std::shared_ptr<asio::ssl::context>> contexts;
  std::vector<tls::CertificateFiles> generated;
  for (const auto& connector : cfg.receive_connectors) {
    if (!connector.starttls) continue;
    std::vector<tls::CertificateFiles> certificates;
    if (!connector.tls.certificate.empty()) {
      certificates.push_back({connector.tls.certificate, connector.tls.key});
    } else {
      if (generated.empty()) generated = tls::ensure_self_signed(cfg.state_dir, cfg.hostname);
      certificates = generated;
    }
    try {
      contexts[connector.name] = tls::make_server_context(connector.tls, certificates);
      if (connector.require_client_certificate)
        tls::request_client_certificates(contexts[connector.name]->native_handle(), connector.client_ca_file);
    } catch (const std::exception& e) {
      throw config::ConfigError(fmt::format("receive connector \"{}\": TLS: {}", connector.name, e.what()));
    }
    if (connector.tls.allows_legacy_versions())
      log_warning(
          "receive connector \"{}\" accepts TLS {} (profile \"{}\", OpenSSL security level {}): "
          "TLS 1.0/1.1 are obsolete (RFC 8996); use this only to emulate old peers",
          connector.name, tls::config_name(connector.tls.min_version), connector.tls.profile,
          connector.tls.security_level);
  }
  return contexts;
}

/// The recipients file of [recipient_validation], loaded (a bad line is a configuration error);
/// null when none is configured. Warns about a domain checked against the file that it never names:
/// every recipient there would be refused.
std::unique_ptr<inbound::RecipientsFile> load_recipients_file(const config::Config& cfg) {
  const auto& rv = cfg.recipient_validation;
  if (rv.recipients_file.empty()) return nullptr;
  auto file = inbound::RecipientsFile::open(rv.recipients_file);
  if (!file) throw config::ConfigError(file.error().message);
  const auto& list = (*file)->list();
  std::vector<std::string> domains;
  for (const auto& accepted : cfg.accepted_domains) domains.push_back(accepted.pattern);
  for (const auto& entry : rv.domains) domains.push_back(entry.first);
  for (std::string domain : domains) {
    if (domain.rfind("*.", 0) == 0) domain.erase(0, 2);
    if (config::recipient_check_for(cfg, domain) == config::RecipientCheck::File && !list.domains.count(domain))
      log_warning("recipients file {} has no address in {}: every recipient there will be refused",
                  rv.recipients_file.string(), domain);
  }
  return std::move(*file);
}

/// The users file when a receive connector authenticates (a bad or unreadable file is a
/// configuration error naming it); null otherwise. Warns about each connector that takes
/// passwords in plaintext.
std::unique_ptr<inbound::UsersFile> load_users_file(const config::Config& cfg) {
  bool needed = false;
  for (const auto& connector : cfg.receive_connectors) {
    needed |= connector.auth;
    if (connector.allow_plaintext_auth)
      log_warning(
          "receive connector \"{}\" accepts AUTH without TLS (allow_plaintext_auth): passwords cross the network "
          "in the clear; use this only for devices that cannot do TLS 1.2, on networks you control",
          connector.name);
  }
  if (cfg.users_file.empty()) return nullptr;
  auto file = inbound::UsersFile::open(cfg.users_file);
  if (!file) throw config::ConfigError("users_file: " + file.error().message);
  if (!needed) log_info("users file {} is loaded, but no receive connector has auth = true", cfg.users_file.string());
  return std::move(*file);
}

bool validates_recipients(const config::Config& cfg) {
  return cfg.recipient_validation.verify != config::RecipientCheck::None || !cfg.recipient_validation.domains.empty();
}

/// Tells the server how many sessions the open-file limit leaves room for (with everything else
/// open by now), and warns when that is fewer than max_connections.
void fit_sessions_to_descriptors(inbound::Server& server, const config::Config& cfg, const OpenFileLimit& files) {
  if (files.soft == 0 || files.soft == RLIM_INFINITY) return;
  const std::size_t open_now = open_descriptors();
  const std::size_t sessions = sessions_within(files.soft, open_now, cfg.queue.max_deliveries);
  server.set_session_capacity(sessions);
  if (sessions >= cfg.limits.max_connections) return;
  const std::uint64_t needed = descriptors_for(cfg.limits.max_connections, open_now, cfg.queue.max_deliveries);
  log_warning(
      "the open-file limit is {} (hard limit {}{}): room for {} sessions, fewer than max_connections = {}; "
      "connections beyond {} get 421 4.3.2. Raise the hard limit to at least {} (systemd: LimitNOFILE=, shell: "
      "ulimit -Hn) or lower max_connections",
      files.soft, files.hard, files.soft_before < files.soft ? fmt::format(", raised from {}", files.soft_before) : "",
      sessions, cfg.limits.max_connections, sessions, needed);
}

int serve(const ServeOptions& options) {
  config::Config cfg;
  try {
    cfg = load(options);
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "sluice: {}\n", e.what());
    return kConfigError;
  }
  for (const auto& note : cfg.notes) log_warning("{}", note);
  std::error_code ec;
  std::filesystem::create_directories(cfg.state_dir, ec);
  if (ec) {
    fmt::print(stderr, "sluice: cannot create state directory {}: {}\n", cfg.state_dir.string(), ec.message());
    return kRuntimeError;
  }
  std::map<std::string, std::shared_ptr<asio::ssl::context>> contexts;
  try {
    contexts = make_tls_contexts(cfg);
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "sluice: {}\n", e.what());
    return kConfigError;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sluice: {}\n", e.what());
    return kRuntimeError;
  }
  std::map<std::string, std::shared_ptr<asio::ssl::context>> send_contexts;
  for (const auto& connector : cfg.send_connectors) {
    if (connector.tls == config::OutboundTls::None) continue;
    try {
      const bool verify = connector.tls == config::OutboundTls::Verify;
      send_contexts[connector.name] = tls::make_client_context(connector.tls_policy, verify, connector.ca_file);
    } catch (const std::exception& e) {
      fmt::print(stderr, "sluice: send connector \"{}\": TLS: {}\n", connector.name, e.what());
      return kConfigError;
    }
    if (connector.tls_policy.allows_legacy_versions())
      log_warning(
          "send connector \"{}\" may use TLS {} (profile \"{}\"): TLS 1.0/1.1 are obsolete (RFC 8996); "
          "use this only to emulate an old sender",
          connector.name, tls::config_name(connector.tls_policy.min_version), connector.tls_policy.profile);
  }
  std::unique_ptr<inbound::RecipientsFile> recipients_file;
  std::unique_ptr<inbound::UsersFile> users_file;
  try {
    recipients_file = load_recipients_file(cfg);
    users_file = load_users_file(cfg);
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "sluice: {}\n", e.what());
    return kConfigError;
  }
  if (options.check) {
    // The token sources are created (their secret or key read) but never asked for a token, so
    // an executor without threads does.
    asio::io_context unused;
    if (auto credentials = outbound::load_send_credentials(cfg, unused.get_executor()); !credentials) {
      fmt::print(stderr, "sluice: {}\n", credentials.error().message);
      return kConfigError;
    }
    fmt::print("sluice: configuration OK\n");
    return 0;
  }

  try {
    StopSignals signals;  // before any thread starts
    queue::Spool spool(cfg.state_dir / "queue");
    if (auto removed = spool.recover()) log_info("removed {} incomplete queue file(s) left by a crash", removed);
    queue::MaildirStore maildirs(cfg.state_dir / "maildir");
    auto logs = cfg.state_dir / "logs" / "ProtocolLog";
    protocol_log::Writer receive_log(logs / "SmtpReceive", protocol_log::Direction::Receive);
    protocol_log::Writer send_log(logs / "SmtpSend", protocol_log::Direction::Send);
    std::optional<tracking::TrackingLog> tracking_log;
    if (cfg.message_tracking.enabled)
      tracking_log.emplace(config::message_tracking_dir(cfg), cfg.hostname, cfg.message_tracking.max_file_size);
    tracking::TrackingLog* tracking = tracking_log ? &*tracking_log : nullptr;
    net::Resolver resolver(cfg.dns_servers);

    const OpenFileLimit files = raise_open_file_limit();
    asio::io_context io(1);
    // Maildir deliveries and the engine's envelope writes block: they run here, never on the
    // network thread. Spool stores have their own committer (queue/group_commit) and DNS its own
    // threads in the delivery engine, so neither a busy disk pool nor a slow resolver holds up a 250.
    asio::thread_pool disk(4);
    // XOAUTH2 token requests block for as long as the endpoint takes: their own threads, so that a
    // slow endpoint holds up neither the network thread nor Maildir and envelope writes.
    asio::thread_pool token_requests(2);
    auto credentials = outbound::load_send_credentials(cfg, token_requests.get_executor());
    if (!credentials) {
      fmt::print(stderr, "sluice: {}\n", credentials.error().message);
      return kConfigError;
    }

    outbound::EngineServices engine_services;
    engine_services.config = &cfg;
    engine_services.spool = &spool;
    engine_services.maildirs = &maildirs;
    engine_services.send_log = &send_log;
    engine_services.resolver = &resolver;
    engine_services.disk = disk.get_executor();
    engine_services.tls_contexts = send_contexts;
    engine_services.credentials = *credentials;
    engine_services.tracking = tracking;
    outbound::DeliveryEngine engine(io, engine_services);

    outbound::CalloutProber prober(io.get_executor(), {.config = &cfg,
                                                       .resolver = &resolver,
                                                       .tls_contexts = send_contexts,
                                                       .send_log = &send_log,
                                                       .transport = nullptr,
                                                       .credentials = *credentials});
    inbound::RecipientValidator recipients(io.get_executor(), cfg, std::move(recipients_file),
                                           [&prober](std::string address) { return prober.probe(std::move(address)); });

    inbound::SessionServices services;
    services.config = &cfg;
    services.protocol_log = &receive_log;
    services.spool = &spool;
    services.disk = disk.get_executor();
    services.queued = [&engine](const queue::Envelope& envelope) { engine.message_queued(envelope); };
    services.tracking = tracking;
    if (validates_recipients(cfg)) services.recipients = &recipients;
    inbound::AuthPenalty auth_penalty;
    inbound::UserRates user_rates;
    services.authenticator = users_file.get();
    services.auth_penalty = &auth_penalty;
    services.user_rates = &user_rates;

    control::ControlServer control(io, cfg.state_dir / "control.sock",
                                   [&engine](const nlohmann::json& request) { return engine.control(request); });
    inbound::Server server(io, services, contexts);
    std::optional<metrics::AdminServer> admin;
    if (cfg.admin_listen)
      admin.emplace(io, cfg.admin_listen->host, cfg.admin_listen->port,
                    [&engine] { return outbound::metrics_text(engine, std::chrono::system_clock::now()); });
    server.start();
    control.start();
    engine.start();
    if (admin) admin->start();
    log_info("state directory {}", cfg.state_dir.string());
    if (tracking) log_info("message tracking log in {}", tracking->dir().string());
    fit_sessions_to_descriptors(server, cfg, files);
    for (const auto& line : server.describe_listeners()) log_info("listening on {}", line);
    if (admin) log_info("admin listener (GET /metrics, /healthz) on {}", cfg.admin_listen->str());
    notify_ready();

    bool stopping = false;
    signals.start(io.get_executor(), [&](int number) {
      if (stopping) {
        log_warning("second signal: closing all sessions now");
        io.stop();
        return;
      }
      stopping = true;
      notify_stopping();
      log_info("signal {}: stopping (sessions in DATA and deliveries in progress may finish)", number);
      // Inbound first (nothing new arrives), then outbound, then the control socket.
      server.on_stopped([&] { engine.stop([&] { control.stop(); }); });
      if (admin) admin->stop();
      server.stop();
    });
    io.run();
    signals.stop();
    disk.join();
    if (tracking && tracking->failed_writes() > 0)
      log_warning("message tracking log: {} record(s) could not be written to {}", tracking->failed_writes(),
                  tracking->dir().string());
    log_info("stopped");
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sluice: {}\n", e.what());
    return kRuntimeError;
  }
}

}  // namespace

int run_serve(int argc, char** argv) {
  CLI::App app{
      "Run the mail gateway. With no configuration it listens on 127.0.0.1:2525 and [::1]:2525, accepts\n"
      "mail for 'localhost' into Maildirs under the state directory, relays nothing, and offers STARTTLS\n"
      "(TLS 1.2 and 1.3) with a self-signed ECDSA and RSA certificate made on first start.\n"
      "Stops on SIGTERM or SIGINT: sessions waiting for a command get 421, those in DATA finish first.\n"
      "Exit status: 0 after a clean stop, 2 for a bad configuration, 1 for other start-up failures.",
      "sluice serve"};
  ServeOptions options;
  app.add_option("-c,--config", options.config_file, "TOML configuration file (docs/configuration.md)");
  app.add_option("-l,--listen", options.listen,
                 "ADDRESS:PORT to listen on, repeatable; replaces the first receive connector's listen list "
                 "(e.g. 127.0.0.1:2525, [::1]:2525)");
  app.add_option("-s,--state-dir", options.state_dir,
                 "directory for the queue, Maildirs, certificates and protocol logs (overrides state_dir)");
  app.add_option("--hostname", options.hostname, "name in the banner, EHLO reply and Received headers");
  app.add_flag("--check-config", options.check, "validate the configuration and certificates, then exit");
  // A bad command line is one line, like every other start-up error.
  if (auto stop = parse_command_line(app, "serve", argc, argv, kConfigError)) return *stop;
  return serve(options);
}

}  // namespace sluice::cli
