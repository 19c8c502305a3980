// `sluice check`: load everything `sluice serve` would (cli/gateway_load), change nothing, and
// show the effective gateway: each connector's addresses, ranges, relay, AUTH and the TLS it
// really offers (versions and suites as OpenSSL resolves them from the built context, and the
// certificates with their fingerprints). Exit 0, or 2 listing every problem found, as `nginx -t`
// and `postfix check` do. `sluice serve --check-config` runs the same.
#include <fmt/format.h>
#include <asio/io_context.hpp>

#include <filesystem>

#include "cli/check.h"
#include "cli/command_line.h"
#include "cli/gateway_load.h"
#include "cli/service_user.h"
#include "cli/subcommand.h"
#include "tls/context_facts.h"

namespace sluice::cli {
namespace {

constexpr int kCheckFailed = 2;

std::string list_text(const std::vector<std::string>& items, std::string_view separator = ", ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : std::string(separator)) + item;
  return out;
}

template <typename T>
std::string str_list_text(const std::vector<T>& items) {
  std::vector<std::string> texts;
  for (const auto& item : items) texts.push_back(item.str());
  return list_text(texts);
}

void print_tls(const asio::ssl::context* context, const tls::Policy& policy) {
  fmt::print("  tls policy       profile \"{}\", versions {}-{} configured, OpenSSL security level {}\n",
             policy.profile, tls::config_name(policy.min_version), tls::config_name(policy.max_version),
             policy.security_level);
  if (!context) return;
  SSL_CTX* ctx = const_cast<asio::ssl::context*>(context)->native_handle();
  const auto facts = tls::context_facts(ctx);
  fmt::print("  tls versions     {}\n",
             facts.versions.empty() ? "none (no suite is usable)" : list_text(facts.versions));
  if (!facts.tls12_ciphers.empty()) fmt::print("  tls 1.2 ciphers  {}\n", list_text(facts.tls12_ciphers, ":"));
  if (!facts.tls13_suites.empty()) fmt::print("  tls 1.3 suites   {}\n", list_text(facts.tls13_suites, ":"));
  for (const auto& cert : tls::served_certificates(ctx))
    fmt::print("  certificate      {} SHA256 {} (until {})\n", cert.subject, cert.sha256_fingerprint, cert.not_after);
}

std::string relay_text(const config::ReceiveConnector& c) {
  if (c.relay == config::RelayPermission::Ranges) return "ranges " + str_list_text(c.relay_from);
  return std::string(config::relay_permission_name(c.relay));
}

std::string auth_text(const config::ReceiveConnector& c, const config::Config& cfg) {
  if (!c.auth) return "off";
  std::vector<std::string> mechanisms;
  for (auto m : c.auth_mechanisms) mechanisms.emplace_back(config::receive_auth_mechanism_name(m));
  return fmt::format("{} against {}{}", list_text(mechanisms), cfg.users_file.string(),
                     c.allow_plaintext_auth ? ", also without TLS" : ", after STARTTLS only");
}

std::string proxy_text(const config::ReceiveConnector& c) {
  if (!c.proxy_protocol) return "off (clients connect directly)";
  const auto versions = *c.proxy_protocol;
  const char* name = versions == net::ProxyVersions::V1 ? "v1" : versions == net::ProxyVersions::V2 ? "v2" : "v1+v2";
  return fmt::format("{} header required from {} within {}s; the client it names is the client", name,
                     str_list_text(c.proxy_from), c.proxy_timeout.count());
}

void print_receive_connector(const config::ReceiveConnector& c, const LoadedGateway& gateway) {
  fmt::print("receive connector \"{}\"\n", c.name);
  fmt::print("  listen           {}\n", str_list_text(c.listen));
  fmt::print("  remote ranges    {}\n", str_list_text(c.remote_ranges));
  fmt::print("  proxy protocol   {}\n", proxy_text(c));
  fmt::print("  relay            {}\n", relay_text(c));
  fmt::print("  auth             {}\n", auth_text(c, *gateway.config));
  if (c.accept_moved_mail)
    fmt::print("  moved mail       accepted (XMOVE) from clients that may relay: queue state kept\n");
  fmt::print("  starttls         {}\n", !c.starttls ? "not offered" : c.require_tls ? "required" : "offered");
  if (c.require_client_certificate)
    fmt::print("  client certs     required, from {} naming {}\n", c.client_ca_file.string(),
               list_text(c.client_certificate_names));
  if (!c.starttls) return;
  auto context = gateway.receive_tls.find(c.name);
  print_tls(context == gateway.receive_tls.end() ? nullptr : context->second.get(), c.tls);
}

void print_send_connector(const config::SendConnector& c, const LoadedGateway& gateway) {
  fmt::print("send connector \"{}\"\n", c.name);
  fmt::print("  address spaces   {}\n", list_text(c.address_spaces));
  fmt::print("  smart hosts      {}\n",
             c.smart_hosts.empty() ? fmt::format("none: MX lookup, port {}", c.port) : str_list_text(c.smart_hosts));
  const bool fallback = c.tls == config::OutboundTls::Opportunistic && c.fallback_to_plaintext;
  fmt::print("  tls              {}{}\n", config::outbound_tls_name(c.tls),
             fallback ? " (plaintext after a failed handshake)" : "");
  for (const auto& d : c.tls_destinations) {
    std::string extra;
    if (!d.match.empty()) extra += ", match " + list_text(d.match);
    if (d.min_version) extra += fmt::format(", TLS {} or later", tls::config_name(*d.min_version));
    fmt::print("  tls for {:<9}{}{}\n", d.domain + " ", config::outbound_tls_name(d.mode), extra);
  }
  fmt::print("  auth             {}\n",
             c.auth.mechanism == config::SendAuthMechanism::None
                 ? std::string("none")
                 : fmt::format("{} as {}", config::send_auth_mechanism_name(c.auth.mechanism), c.auth.username));
  if (c.tls == config::OutboundTls::None && c.tls_destinations.empty()) return;
  auto context = gateway.send_tls.find(c.name);
  print_tls(context == gateway.send_tls.end() ? nullptr : context->second.get(), c.tls_policy);
}

}  // namespace

int check_configuration(const ConfigSource& source) {
  // Token sources are created (their secret or key read) but never asked for a token: an
  // executor without threads does.
  asio::io_context unused;
  std::optional<Account> account;  // the one serve would drop to, looked up as serve does
  auto loaded = load_gateway(source, LoadPurpose::Check, unused.get_executor(),
                             [&account](const config::Config& cfg) { return look_up_service_account(cfg, account); });
  std::vector<std::string> problems = loaded ? std::vector<std::string>{} : loaded.error();
  // The files the running gateway reads again, as its account (a child process becomes it).
  if (loaded) {
    if (auto readable = check_files_in_use(*loaded->config, source.config_file, account); !readable)
      problems = readable.error();
  }
  if (!problems.empty()) {
    for (const auto& problem : problems) fmt::print(stderr, "sluice: {}\n", problem);
    fmt::print(stderr, "sluice: {} problem(s) found; the configuration was not loaded\n", problems.size());
    return kCheckFailed;
  }
  const config::Config& cfg = *loaded->config;
  fmt::print("configuration    {}\n", source.config_file.empty() ? "none (the built-in defaults)" : source.config_file);
  std::error_code ec;
  fmt::print("state directory  {}{}\n", cfg.state_dir.string(),
             std::filesystem::exists(cfg.state_dir, ec) ? "" : " (does not exist yet: serve makes it)");
  fmt::print("hostname         {}\n", cfg.hostname);
  fmt::print("node name        {}\n", cfg.node_name.empty() ? cfg.hostname + " (the hostname)" : cfg.node_name);
  for (const auto& connector : cfg.receive_connectors) print_receive_connector(connector, *loaded);
  for (const auto& connector : cfg.send_connectors) print_send_connector(connector, *loaded);
  for (const auto& file : loaded->would_make)
    fmt::print("would make       {} (a self-signed certificate: serve makes it at start)\n", file);
  for (const auto& warning : loaded->warnings) fmt::print("warning: {}\n", warning);
  fmt::print("sluice: configuration OK\n");
  return 0;
}

int run_check(int argc, char** argv) {
  CLI::App app{
      "Load everything 'sluice serve' would (configuration, certificates and keys, users and recipients\n"
      "files, send connectors' secrets) and show the effective connectors with the TLS versions and suites\n"
      "OpenSSL resolves for each, without changing anything (no state directory, no certificates are\n"
      "made). Exit status: 0 when the configuration loads, 2 listing every problem found.",
      "sluice check"};
  ConfigSource source;
  app.add_option("-c,--config", source.config_file, "TOML configuration file (docs/configuration.md)");
  app.add_option("-l,--listen", source.listen, "as for serve: replaces the first receive connector's listen list");
  app.add_option("-s,--state-dir", source.state_dir, "as for serve: overrides state_dir");
  app.add_option("--hostname", source.hostname, "as for serve: overrides hostname");
  app.add_option("-u,--user", source.user, "as for serve: the account whose access to the files is checked");
  if (auto stop = parse_command_line(app, "check", argc, argv, kCheckFailed)) return *stop;
  return check_configuration(source);
}

}  // namespace sluice::cli
