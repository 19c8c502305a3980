// `sluice serve`: load everything (cli/gateway_load), prepare the state directory, run the
// gateway until SIGTERM/SIGINT; SIGHUP reloads the configuration (cli/reload).
#include <fmt/format.h>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>

#include <sys/resource.h>

#include <csignal>
#include <iostream>
#include <optional>

#include "base/deferred_thread_pool.h"
#include "base/logging.h"
#include "base/open_files.h"
#include "base/service_manager.h"
#include "cli/check.h"
#include "cli/command_line.h"
#include "cli/gateway_load.h"
#include "cli/log_retention.h"
#include "cli/reload.h"
#include "cli/service_status.h"
#include "cli/service_user.h"
#include "cli/stop_signals.h"
#include "cli/subcommand.h"
#include "cli/tls_reporting.h"
#include "config/config.h"
#include "control/control_socket.h"
#include "inbound/recipient_validation.h"
#include "inbound/server.h"
#include "metrics/admin_server.h"
#include "mta_sts/policy_store.h"
#include "net/dns.h"
#include "outbound/callout.h"
#include "outbound/dane_policy.h"
#include "outbound/delivery_engine.h"
#include "outbound/engine_metrics.h"
#include "protocol_log/protocol_log.h"
#include "queue/maildir.h"
#include "queue/spool.h"
#include "tracking/tracking_log.h"

namespace sluice::cli {
namespace {

mta_sts::FetchSettings policy_fetch_settings(const config::MtaStsSettings& settings) {
  return {.ca_file = settings.ca_file,
          .port = settings.https_port,
          .connect_timeout = settings.connect_timeout,
          .total_timeout = settings.fetch_timeout};
}

constexpr int kConfigError = 2;
constexpr int kRuntimeError = 1;

struct ServeOptions {
  ConfigSource source;
  bool check = false;
};

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
  StopSignals signals;  // before any thread starts
  // XOAUTH2 token requests block for as long as the endpoint takes: their own threads, so that a
  // slow endpoint holds up neither the network thread nor Maildir and envelope writes. Reloads
  // load here too, off the network thread.
  // Its threads start after the drop to the service account (a thread keeps the credentials it
  // started with); the configuration is loaded as root before that.
  DeferredThreadPool token_requests(2);
  // The account is looked up before anything is made: a missing one is the only line.
  std::optional<Account> account;
  auto loaded = load_gateway(options.source, LoadPurpose::Serve, token_requests.get_executor(),
                             [&account](const config::Config& cfg) { return look_up_service_account(cfg, account); });
  if (!loaded) {
    for (const auto& problem : loaded.error()) fmt::print(stderr, "sluice: {}\n", problem);
    return kConfigError;
  }
  LoadedGateway& gateway = *loaded;
  const config::Config& cfg = *gateway.config;  // the configuration started with: what a reload cannot change
  for (const auto& warning : gateway.warnings) log_warning("{}", warning);
  std::error_code ec;
  std::filesystem::create_directories(cfg.state_dir, ec);
  if (ec) {
    fmt::print(stderr, "sluice: cannot create state directory {}: {}\n", cfg.state_dir.string(), ec.message());
    return kRuntimeError;
  }
  // Least privilege: the last step before any thread starts.
  if (auto dropped = become_service_account(cfg, account); !dropped) {
    fmt::print(stderr, "sluice: {}\n", dropped.error().message);
    return kRuntimeError;
  }
  // As the user that reads them from now on: a key a reload could not read fails now, not then.
  if (auto readable = check_files_in_use(cfg, options.source.config_file); !readable) {
    for (const auto& line : readable.error()) fmt::print(stderr, "sluice: {}\n", line);
    return kConfigError;
  }
  token_requests.start();

  try {
    queue::Spool spool(cfg.state_dir / "queue");
    if (auto removed = spool.recover()) log_info("removed {} incomplete queue file(s) left by a crash", removed);
    queue::MaildirStore maildirs(cfg.state_dir / "maildir");
    auto logs = cfg.state_dir / "logs" / "ProtocolLog";
    protocol_log::Writer receive_log(logs / "SmtpReceive", protocol_log::Direction::Receive,
                                     cfg.protocol_log.receive.max_file_size);
    protocol_log::Writer send_log(logs / "SmtpSend", protocol_log::Direction::Send,
                                  cfg.protocol_log.send.max_file_size);
    std::optional<tracking::TrackingLog> tracking_log;
    if (cfg.message_tracking.enabled)
      tracking_log.emplace(config::message_tracking_dir(cfg), cfg.hostname, cfg.message_tracking.limits.max_file_size);
    tracking::TrackingLog* tracking = tracking_log ? &*tracking_log : nullptr;
    protocol_log::RetentionJanitor log_retention;  // its thread stops before the logs close
    start_log_retention(log_retention, cfg, receive_log, send_log, tracking);
    net::Resolver resolver(cfg.dns_servers, cfg.dnssec_trusted_resolvers, cfg.dns_timeout);
    // MTA-STS policies, fetched on the engine's DNS threads and kept across restarts (RFC 8461 5.1).
    mta_sts::PolicyStore mta_sts_policies(resolver,
                                          mta_sts::https_policy_fetcher(resolver, policy_fetch_settings(cfg.mta_sts)),
                                          {.cache_dir = cfg.state_dir / "mta-sts"});

    const OpenFileLimit files = raise_open_file_limit();
    asio::io_context io(1);
    // Maildir deliveries and the engine's envelope writes block: they run here, never on the
    // network thread. Spool stores have their own committer (queue/group_commit) and DNS its own
    // threads in the delivery engine, so neither a busy disk pool nor a slow resolver holds up a 250.
    asio::thread_pool disk(4);

    outbound::EngineServices engine_services;
    engine_services.config = gateway.config;
    engine_services.spool = &spool;
    engine_services.maildirs = &maildirs;
    engine_services.send_log = &send_log;
    engine_services.resolver = &resolver;
    engine_services.dane = [](const std::string& host, bool mx_secure, std::uint16_t port, const std::string& domain,
                              const net::MailLookups& dns) {
      return outbound::dane_requirement(host, mx_secure, port, domain, dns);
    };
    engine_services.mta_sts = &mta_sts_policies;
    engine_services.disk = disk.get_executor();
    engine_services.tls_contexts = gateway.send_tls;
    engine_services.credentials = gateway.credentials;
    engine_services.tracking = tracking;
    auto tls_counts = make_tls_report_collector(cfg);
    engine_services.tls_reports = tls_counts.get();
    outbound::DeliveryEngine engine(io, engine_services);

    outbound::CalloutProber prober(io.get_executor(), {.config = gateway.config,
                                                       .resolver = &resolver,
                                                       .tls_contexts = gateway.send_tls,
                                                       .send_log = &send_log,
                                                       .transport = nullptr,
                                                       .credentials = gateway.credentials});
    inbound::RecipientValidator recipients(io.get_executor(), gateway.config, std::move(gateway.recipients_file),
                                           [&prober](std::string address) { return prober.probe(std::move(address)); });

    // What sessions share whatever the configuration; the rest comes from each load.
    inbound::SessionServices shared;
    shared.protocol_log = &receive_log;
    shared.spool = &spool;
    shared.disk = disk.get_executor();
    shared.queued = [&engine](const queue::Envelope& envelope) { engine.message_queued(envelope); };
    shared.tracking = tracking;
    inbound::AuthPenalty auth_penalty;
    inbound::UserRates user_rates;
    shared.auth_penalty = &auth_penalty;
    shared.user_rates = &user_rates;
    auto session_services = [&shared, &recipients](const LoadedGateway& loaded) {
      inbound::SessionServices services = shared;
      services.config = loaded.config;
      services.authenticator = loaded.users_file.get();
      services.resources = loaded.users_file;
      if (validates_recipients(*loaded.config)) services.recipients = &recipients;
      return services;
    };

    control::ControlServer control(io, cfg.state_dir / "control.sock",
                                   [&engine](const nlohmann::json& request) { return engine.control(request); });
    inbound::Server server(io, session_services(gateway), gateway.receive_tls);
    std::optional<metrics::AdminServer> admin;
    if (cfg.admin_listen)
      admin.emplace(io, cfg.admin_listen->host, cfg.admin_listen->port,
                    [&engine] { return outbound::metrics_text(engine, std::chrono::system_clock::now()); });
    server.start();
    control.start();
    engine.start();
    auto tls_reports = start_tls_report_sender(io, cfg, tls_counts.get(), spool, resolver, engine);
    if (admin) admin->start();
    log_info("state directory {}", cfg.state_dir.string());
    if (tracking) log_info("message tracking log in {}", tracking->dir().string());
    fit_sessions_to_descriptors(server, cfg, files);
    for (const auto& line : server.describe_listeners()) log_info("listening on {}", line);
    Reloader reloader(io, token_requests.get_executor(), token_requests.get_executor(), options.source,
                      {.server = &server,
                       .engine = &engine,
                       .prober = &prober,
                       .recipients = &recipients,
                       .session_services = session_services},
                      summarize(gateway));
    if (admin) log_info("admin listener (GET /metrics, /healthz) on {}", cfg.admin_listen->str());
    notify_ready();
    ServiceStatus status(io, [&] { return service_status_line(server.sessions(), engine.queued()); });
    status.start();

    bool stopping = false;
    signals.start(io.get_executor(), [&](int number) {
      if (number == SIGHUP) {
        if (!stopping) reloader.request();
        return;
      }
      if (stopping) {
        log_warning("second signal: closing all sessions now");
        io.stop();
        return;
      }
      stopping = true;
      reloader.stop();
      notify_stopping();
      status.stop();
      if (tls_reports) tls_reports->stop();
      log_info("signal {}: stopping (sessions in DATA and deliveries in progress may finish)", number);
      // Inbound first (nothing new arrives), then outbound, then the control socket.
      server.on_stopped([&] { engine.stop([&] { control.stop(); }); });
      if (admin) admin->stop();
      server.stop();
    });
    io.run();
    signals.stop();
    disk.join();
    token_requests.join();
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
      "SIGHUP reloads the configuration and certificates without dropping a session (docs/configuration.md).\n"
      "Exit status: 0 after a clean stop, 2 for a bad configuration, 1 for other start-up failures.",
      "sluice serve"};
  ServeOptions options;
  app.add_option("-c,--config", options.source.config_file, "TOML configuration file (docs/configuration.md)");
  app.add_option("-l,--listen", options.source.listen,
                 "ADDRESS:PORT to listen on, repeatable; replaces the first receive connector's listen list "
                 "(e.g. 127.0.0.1:2525, [::1]:2525)");
  app.add_option("-s,--state-dir", options.source.state_dir,
                 "directory for the queue, Maildirs, certificates and protocol logs (overrides state_dir)");
  app.add_option("--hostname", options.source.hostname, "name in the banner, EHLO reply and Received headers");
  app.add_option("-u,--user", options.source.user,
                 "account to run as when started as root (overrides user; default sluice; root keeps root)");
  app.add_flag("--check-config", options.check,
               "the same as 'sluice check': show the effective configuration, then exit");
  // A bad command line is one line, like every other start-up error.
  if (auto stop = parse_command_line(app, "serve", argc, argv, kConfigError)) return *stop;
  if (options.check) return check_configuration(options.source);
  return serve(options);
}

}  // namespace sluice::cli
