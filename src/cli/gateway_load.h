// Everything `sluice serve` loads before it accepts mail: the configuration with the command
// line's overrides, each connector's TLS context (certificates and keys), the users and recipients
// files, the send connectors' secrets. One loader for serve, its reloads (SIGHUP) and `sluice
// check`, so that a check and a start cannot disagree about a configuration.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/ssl/context.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/config.h"
#include "inbound/recipients_file.h"
#include "inbound/users_file.h"
#include "outbound/send_credentials.h"

namespace sluice::cli {

/// What the command line says about the configuration (serve's and check's options).
struct ConfigSource {
  std::string config_file;  ///< empty: the zero-configuration gateway
  std::vector<std::string> listen;
  std::string state_dir;
  std::string hostname;
  std::string user;  ///< --user: the account serve drops to when started as root
};

enum class LoadPurpose {
  Serve,  ///< may make the state directory's self-signed certificates
  Check,  ///< changes nothing: lists what a start would make instead (would_make)
};

using TlsContexts = std::map<std::string, std::shared_ptr<asio::ssl::context>>;  ///< by connector name

struct LoadedGateway {
  std::shared_ptr<const config::Config> config;
  TlsContexts receive_tls;                                   ///< connectors with starttls
  TlsContexts send_tls;                                      ///< send connectors with tls other than "none"
  std::unique_ptr<inbound::RecipientsFile> recipients_file;  ///< null: none configured
  std::shared_ptr<inbound::UsersFile> users_file;            ///< null: none configured
  outbound::CredentialsByConnector credentials;
  /// Legal but worth saying (deprecated keys, TLS 1.0 allowed, plaintext AUTH, ...), one line each.
  std::vector<std::string> warnings;
  /// LoadPurpose::Check: "<file>" for each self-signed certificate a start would make.
  std::vector<std::string> would_make;
};

/// Loads everything, collecting every problem (one line each, without "sluice: ") instead of
/// stopping at the first: a configuration file that does not parse ends the load there, but
/// certificates, keys, files and secrets are each tried. XOAUTH2 token sources are created with
/// `token_requests` (never asked for a token here). `vet`, when given, sees the configuration
/// before anything is made (a certificate, a directory): its failure is the load's only problem.
Result<LoadedGateway, std::vector<std::string>> load_gateway(
    const ConfigSource& source, LoadPurpose purpose, asio::any_io_executor token_requests,
    const std::function<Result<void>(const config::Config&)>& vet = {});

}  // namespace sluice::cli
