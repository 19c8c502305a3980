// SIGHUP for `sluice serve`: load the configuration and every certificate again (cli/gateway_load,
// off the network thread) and hand the result to the running gateway without dropping a session
// or a delivery. New sessions get the new connectors and TLS contexts, sessions in progress finish
// on theirs (each holds its configuration snapshot); listeners open and close as the new
// configuration says, unchanged ones keep their socket; the delivery engine uses the new send
// connectors and queue settings from its next attempts. A configuration that does not load is
// refused with one log line and the running one keeps serving.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/io_context.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cli/gateway_load.h"
#include "inbound/recipient_validation.h"
#include "inbound/server.h"
#include "outbound/callout.h"
#include "outbound/delivery_engine.h"

namespace sluice::cli {

/// What a reload reconfigures, all owned by serve and living as long as the Reloader.
struct ReloadTargets {
  inbound::Server* server = nullptr;
  outbound::DeliveryEngine* engine = nullptr;
  outbound::CalloutProber* prober = nullptr;
  inbound::RecipientValidator* recipients = nullptr;
  /// The session services for a loaded gateway (serve fills in its long-lived parts).
  std::function<inbound::SessionServices(const LoadedGateway&)> session_services;
};

/// What the running configuration is, as far as a reload's log line compares it.
struct GatewaySummary {
  std::vector<std::string> receive_connectors, send_connectors;
  /// "SHA256 AB:CD:..." fingerprints served, by receive connector name.
  std::map<std::string, std::vector<std::string>> certificates;
  std::string restart_settings;  ///< state_dir, dns_servers, message tracking: what a reload cannot change
};
GatewaySummary summarize(const LoadedGateway& gateway);

class Reloader {
 public:
  /// Loads run on `loader` (blocking file reads and key parsing stay off the network thread);
  /// XOAUTH2 token sources are made for `token_requests`. `running` describes what serve started with.
  Reloader(asio::io_context& io, asio::any_io_executor loader, asio::any_io_executor token_requests,
           ConfigSource source, ReloadTargets targets, GatewaySummary running);

  /// SIGHUP (network thread): starts a reload; one asked for while another runs follows it.
  void request();
  /// After the stop began: requests are ignored, and a load in progress is not applied.
  void stop() { stopped_ = true; }
  /// Reloads applied and refused so far.
  std::size_t applied() const { return applied_; }
  std::size_t refused() const { return refused_; }

 private:
  void start_load();
  void finish(Result<LoadedGateway, std::vector<std::string>> loaded);
  /// Hands `gateway` to the running parts; the error when the server cannot take it.
  Result<std::string> apply(LoadedGateway gateway);

  asio::io_context& io_;
  asio::any_io_executor loader_;
  asio::any_io_executor token_requests_;
  ConfigSource source_;
  ReloadTargets targets_;
  GatewaySummary running_;
  bool loading_ = false;
  bool again_ = false;
  bool stopped_ = false;
  std::size_t applied_ = 0, refused_ = 0;
};

}  // namespace sluice::cli
