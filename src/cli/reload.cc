#include "cli/reload.h"

#include <fmt/format.h>
#include <asio/post.hpp>

#include <algorithm>

#include "base/logging.h"
#include "base/service_manager.h"
#include "tls/context_facts.h"

namespace sluice::cli {
namespace {

std::string quoted_names(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "\"" : ", \"") + item + "\"";
  return out;
}

/// Names in `b` that are not in `a`.
std::vector<std::string> missing_from(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> out;
  for (const auto& name : b)
    if (std::find(a.begin(), a.end(), name) == a.end()) out.push_back(name);
  return out;
}

/// One clause per kind of change ("receive connectors added: \"X\""), "" when there is none.
std::vector<std::string> changes_between(const GatewaySummary& before, const GatewaySummary& after) {
  std::vector<std::string> out;
  auto names = [&out](std::string_view what, const std::vector<std::string>& was, const std::vector<std::string>& is) {
    if (auto added = missing_from(was, is); !added.empty())
      out.push_back(fmt::format("{} added: {}", what, quoted_names(added)));
    if (auto removed = missing_from(is, was); !removed.empty())
      out.push_back(fmt::format("{} removed: {}", what, quoted_names(removed)));
  };
  names("receive connectors", before.receive_connectors, after.receive_connectors);
  names("send connectors", before.send_connectors, after.send_connectors);
  std::vector<std::string> renewed;
  for (const auto& [name, fingerprints] : after.certificates) {
    auto was = before.certificates.find(name);
    if (was != before.certificates.end() && was->second == fingerprints) continue;
    std::string shown;
    for (const auto& fingerprint : fingerprints) shown += (shown.empty() ? "" : ", ") + fingerprint;
    renewed.push_back(fmt::format("\"{}\" {}", name, shown));
  }
  if (!renewed.empty()) {
    std::string text = "certificates loaded: ";
    for (std::size_t i = 0; i < renewed.size(); ++i) text += (i ? "; " : "") + renewed[i];
    out.push_back(text);
  } else {
    out.push_back("certificates unchanged");
  }
  return out;
}

}  // namespace

GatewaySummary summarize(const LoadedGateway& gateway) {
  GatewaySummary summary;
  const config::Config& cfg = *gateway.config;
  for (const auto& c : cfg.receive_connectors) summary.receive_connectors.push_back(c.name);
  for (const auto& c : cfg.send_connectors) summary.send_connectors.push_back(c.name);
  for (const auto& [name, context] : gateway.receive_tls)
    for (const auto& cert : tls::served_certificates(context->native_handle()))
      summary.certificates[name].push_back("SHA256 " + cert.sha256_fingerprint);
  std::string dns;
  for (const auto& server : cfg.dns_servers) dns += server + " ";
  dns += fmt::format("timeout:{} ", cfg.dns_timeout.count());
  // The resolver (and whose AD bit it trusts) is made once, at start.
  if (cfg.dnssec_trusted_resolvers) {
    dns += "trusted:";
    for (const auto& server : *cfg.dnssec_trusted_resolvers) dns += " " + server;
  }
  // The logs' sizes and retention are read once, when their writers and janitor start.
  const auto limits = [](const config::LogLimits& l) {
    return fmt::format("{}/{}/{}", l.max_file_size, l.max_age.count(), l.max_directory_size);
  };
  // The MTA-STS policy store is made once, at start, with [mta_sts]'s fetch settings.
  const auto& sts = cfg.mta_sts;
  const std::string mta_sts = fmt::format("{}/{}/{}/{}", sts.ca_file.string(), sts.https_port,
                                          sts.connect_timeout.count(), sts.fetch_timeout.count());
  summary.restart_settings = fmt::format(
      "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}", cfg.state_dir.string(), dns, cfg.user.value_or(""),
      cfg.admin_listen ? cfg.admin_listen->str() + (cfg.admin_listen_public ? " public" : "") : "",
      cfg.message_tracking.enabled, config::message_tracking_dir(cfg).string(), limits(cfg.message_tracking.limits),
      limits(cfg.protocol_log.receive), limits(cfg.protocol_log.send), mta_sts);
  return summary;
}

Reloader::Reloader(asio::io_context& io, asio::any_io_executor loader, asio::any_io_executor token_requests,
                   ConfigSource source, ReloadTargets targets, GatewaySummary running)
    : io_(io),
      loader_(std::move(loader)),
      token_requests_(std::move(token_requests)),
      source_(std::move(source)),
      targets_(std::move(targets)),
      running_(std::move(running)) {}

void Reloader::request() {
  if (stopped_) return;
  if (loading_) {
    again_ = true;  // the file may have changed after the running load read it
    return;
  }
  start_load();
}

void Reloader::start_load() {
  loading_ = true;
  again_ = false;
  notify_reloading();  // one log line per reload: its outcome, in finish()
  // The load touches nothing of this object: serve may end while it runs (the pool is joined
  // before the io_context goes away, and a handler posted to a stopped io_context never runs).
  asio::post(loader_, [this, source = source_, token_requests = token_requests_, &io = io_] {
    auto loaded = load_gateway(source, LoadPurpose::Serve, token_requests);
    asio::post(io, [this, loaded = std::move(loaded)]() mutable { finish(std::move(loaded)); });
  });
}

void Reloader::finish(Result<LoadedGateway, std::vector<std::string>> loaded) {
  loading_ = false;
  if (stopped_) return;
  if (!loaded) {
    ++refused_;
    std::string problems;
    for (const auto& problem : loaded.error()) problems += (problems.empty() ? "" : "; ") + problem;
    log_error("reload refused, the running configuration keeps serving: {} problem(s): {}", loaded.error().size(),
              problems);
  } else if (auto applied = apply(std::move(*loaded)); !applied) {
    ++refused_;
    log_error("reload refused, the running configuration keeps serving: {}", applied.error().message);
  } else {
    ++applied_;
    log_info("reload: {}", *applied);
  }
  notify_ready();
  if (again_) start_load();
}

Result<std::string> Reloader::apply(LoadedGateway gateway) {
  auto changes = targets_.server->reconfigure(targets_.session_services(gateway), gateway.receive_tls);
  if (!changes) return fail(changes.error().message);
  // The server took it: from here on nothing can fail.
  for (const auto& warning : gateway.warnings) log_warning("{}", warning);
  const std::size_t moved = targets_.engine->reconfigure(gateway.config, gateway.send_tls, gateway.credentials);
  targets_.prober->reconfigure(gateway.config, gateway.send_tls, gateway.credentials);
  targets_.recipients->reconfigure(gateway.config, std::move(gateway.recipients_file));

  GatewaySummary summary = summarize(gateway);
  std::vector<std::string> clauses = changes_between(running_, summary);
  if (!changes->opened.empty()) clauses.push_back("listening on " + quoted_names(changes->opened));
  if (!changes->closed.empty()) clauses.push_back("stopped listening on " + quoted_names(changes->closed));
  if (moved) clauses.push_back(fmt::format("{} queued recipient(s) moved to a new next hop", moved));
  if (summary.restart_settings != running_.restart_settings)
    clauses.push_back(
        "state_dir, dns_servers, dns_timeout, dnssec_trusted_resolvers and message_tracking changes take effect at the next "
        "restart");
  summary.restart_settings = running_.restart_settings;  // still what the gateway runs with
  running_ = std::move(summary);
  std::string line = "configuration reloaded";
  for (const auto& clause : clauses) line += "; " + clause;
  return line;
}

}  // namespace sluice::cli
