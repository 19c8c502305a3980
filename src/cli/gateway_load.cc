#include "cli/gateway_load.h"

#include <fmt/format.h>

#include "base/account.h"
#include "config/recipient_validation.h"
#include "tls/certificates.h"
#include "tls/client_certificates.h"
#include "tls/client_context.h"
#include "tls/server_context.h"
#include "tls/version.h"

namespace sluice::cli {
namespace {

using Problems = std::vector<std::string>;

/// The configuration with the command line's overrides applied.
Result<config::Config, Problems> configuration_of(const ConfigSource& source) {
  config::Config cfg;
  try {
    cfg = source.config_file.empty() ? config::default_config() : config::load_config(source.config_file);
  } catch (const config::ConfigError& e) {
    return Failed<Problems>{config::problems_of(e)};
  }
  if (!source.state_dir.empty()) cfg.state_dir = source.state_dir;
  if (!source.hostname.empty()) cfg.hostname = source.hostname;
  if (!source.user.empty()) {
    if (auto name = check_account_name(source.user); !name)
      return Failed<Problems>{Problems{"--user: " + name.error().message}};
    cfg.user = source.user;
  }
  if (!source.listen.empty()) {
    Problems problems;
    std::vector<config::ListenAddress> addresses;
    for (const auto& text : source.listen) {
      if (auto address = config::parse_listen_address(text))
        addresses.push_back(*address);
      else
        problems.push_back(
            fmt::format("--listen: \"{}\" is not ADDRESS:PORT (e.g. 127.0.0.1:2525 or [::1]:2525)", text));
    }
    if (!problems.empty()) return Failed<Problems>{std::move(problems)};
    cfg.receive_connectors.front().listen = addresses;
  }
  return cfg;
}

/// The state directory's self-signed pairs, for connectors without a certificate of their own:
/// made when missing (serve), or looked at only (check: what would be made goes to would_make).
std::vector<tls::CertificateFiles> self_signed_for(const config::Config& cfg, LoadPurpose purpose, LoadedGateway& out) {
  if (purpose == LoadPurpose::Serve) return tls::ensure_self_signed(cfg.state_dir, cfg.hostname);
  auto state = tls::inspect_self_signed(cfg.state_dir);
  for (const auto& file : state.to_make) out.would_make.push_back(file.string());
  return state.usable;
}

void make_receive_contexts(const config::Config& cfg, LoadPurpose purpose, LoadedGateway& out, Problems& problems) {
  std::optional<std::vector<tls::CertificateFiles>> generated;
  for (const auto& connector : cfg.receive_connectors) {
    if (!connector.starttls) continue;
    try {
      std::vector<tls::CertificateFiles> certificates;
      if (!connector.tls.certificate.empty()) {
        certificates.push_back({connector.tls.certificate, connector.tls.key});
      } else {
        if (!generated) generated = self_signed_for(cfg, purpose, out);
        certificates = *generated;
      }
      auto context = tls::make_server_context(connector.tls, certificates);
      if (connector.require_client_certificate)
        tls::request_client_certificates(context->native_handle(), connector.client_ca_file);
      out.receive_tls[connector.name] = std::move(context);
    } catch (const std::exception& e) {
      problems.push_back(fmt::format("receive connector \"{}\": TLS: {}", connector.name, e.what()));
      continue;
    }
    if (connector.tls.allows_legacy_versions())
      out.warnings.push_back(
          fmt::format("receive connector \"{}\" accepts TLS {} (profile \"{}\", OpenSSL security level {}): "
                      "TLS 1.0/1.1 are obsolete (RFC 8996); use this only to emulate old peers",
                      connector.name, tls::config_name(connector.tls.min_version), connector.tls.profile,
                      connector.tls.security_level));
  }
}

void make_send_contexts(const config::Config& cfg, LoadedGateway& out, Problems& problems) {
  for (const auto& connector : cfg.send_connectors) {
    if (connector.tls == config::OutboundTls::None && connector.tls_destinations.empty()) continue;
    try {
      // The trust store is loaded for every connector that may verify (its mode or a table entry,
      // MTA-STS, DANE-TA); each session sets whether it verifies (outbound/smtp_client).
      const bool verify = connector.tls != config::OutboundTls::Opportunistic || !connector.tls_destinations.empty();
      out.send_tls[connector.name] = tls::make_client_context(connector.tls_policy, verify, connector.ca_file);
    } catch (const std::exception& e) {
      problems.push_back(fmt::format("send connector \"{}\": TLS: {}", connector.name, e.what()));
      continue;
    }
    if (connector.tls_policy.allows_legacy_versions())
      out.warnings.push_back(fmt::format(
          "send connector \"{}\" may use TLS {} (profile \"{}\"): TLS 1.0/1.1 are obsolete (RFC 8996); "
          "use this only to emulate an old sender",
          connector.name, tls::config_name(connector.tls_policy.min_version), connector.tls_policy.profile));
  }
}

/// The recipients file of [recipient_validation]. Warns about a domain checked against the file
/// that it never names: every recipient there would be refused.
void load_recipients_file(const config::Config& cfg, LoadedGateway& out, Problems& problems) {
  const auto& rv = cfg.recipient_validation;
  if (rv.recipients_file.empty()) return;
  auto file = inbound::RecipientsFile::open(rv.recipients_file);
  if (!file) {
    problems.push_back(file.error().message);
    return;
  }
  const auto& list = (*file)->list();
  std::vector<std::string> domains;
  for (const auto& accepted : cfg.accepted_domains) domains.push_back(accepted.pattern);
  for (const auto& entry : rv.domains) domains.push_back(entry.first);
  for (std::string domain : domains) {
    if (domain.rfind("*.", 0) == 0) domain.erase(0, 2);
    if (config::recipient_check_for(cfg, domain) == config::RecipientCheck::File && !list.domains.count(domain))
      out.warnings.push_back(
          fmt::format("recipients file {} has no address in {}: every recipient there will be refused",
                      rv.recipients_file.string(), domain));
  }
  out.recipients_file = std::move(*file);
}

/// The users file. Warns about each connector that takes passwords in plaintext.
void load_users_file(const config::Config& cfg, LoadedGateway& out, Problems& problems) {
  bool needed = false;
  for (const auto& connector : cfg.receive_connectors) {
    needed |= connector.auth;
    if (connector.allow_plaintext_auth)
      out.warnings.push_back(fmt::format(
          "receive connector \"{}\" accepts AUTH without TLS (allow_plaintext_auth): passwords cross the network "
          "in the clear; use this only for devices that cannot do TLS 1.2, on networks you control",
          connector.name));
  }
  if (cfg.users_file.empty()) return;
  auto file = inbound::UsersFile::open(cfg.users_file);
  if (!file) {
    problems.push_back("users_file: " + file.error().message);
    return;
  }
  if (!needed)
    out.warnings.push_back(
        fmt::format("users file {} is loaded, but no receive connector has auth = true", cfg.users_file.string()));
  out.users_file = std::move(*file);
}

}  // namespace

Result<LoadedGateway, std::vector<std::string>> load_gateway(
    const ConfigSource& source, LoadPurpose purpose, asio::any_io_executor token_requests,
    const std::function<Result<void>(const config::Config&)>& vet) {
  auto cfg = configuration_of(source);
  if (!cfg) return Failed<Problems>{std::move(cfg.error())};
  if (vet) {
    if (auto vetted = vet(*cfg); !vetted) return Failed<Problems>{Problems{vetted.error().message}};
  }
  LoadedGateway out;
  out.warnings = cfg->notes;
  Problems problems;
  make_receive_contexts(*cfg, purpose, out, problems);
  make_send_contexts(*cfg, out, problems);
  load_recipients_file(*cfg, out, problems);
  load_users_file(*cfg, out, problems);
  if (auto credentials = outbound::load_send_credentials(*cfg, std::move(token_requests)))
    out.credentials = std::move(*credentials);
  else
    problems.push_back(credentials.error().message);
  if (!problems.empty()) return Failed<Problems>{std::move(problems)};
  out.config = std::make_shared<const config::Config>(std::move(*cfg));
  return out;
}

}  // namespace sluice::cli
