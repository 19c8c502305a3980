// What the send connectors authenticate to their smart hosts with ([send_connector.auth]): each
// PLAIN/LOGIN connector's password, read once at start, and each XOAUTH2 connector's token source,
// one per connector so that all its deliveries share one cached token. Loaded by `sluice serve`
// before it accepts mail: a password file it cannot read, or a token source it cannot create,
// stops the start.
#pragma once
#include <asio/any_io_executor.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/result.h"
#include "config/config.h"
#include "outbound/access_token.h"

namespace sluice::outbound {

struct SendCredentials {
  std::string password;                       ///< PLAIN/LOGIN; a secret, never logged
  std::shared_ptr<AccessTokenSource> tokens;  ///< XOAUTH2
};

/// By send connector name; connectors without auth have no entry.
using CredentialsByConnector = std::map<std::string, SendCredentials>;

/// The credentials of every connector with auth. XOAUTH2 sources come from `make_source` (the
/// OAuth client, make_oauth_token_source, in the gateway; a fake in tests), their token requests
/// run on `blocking`. The error names the connector: "send connector \"Exchange Online\": ...".
using TokenSourceFactory =
    std::function<Result<std::unique_ptr<AccessTokenSource>>(const config::SendAuth&, asio::any_io_executor)>;
Result<CredentialsByConnector> load_send_credentials(const config::Config& config, asio::any_io_executor blocking,
                                                     const TokenSourceFactory& make_source);
/// The same with the OAuth client (make_oauth_token_source) as the factory. A separate overload,
/// not a default argument: where oauth_token_source.h is also seen, the name is an overload set.
Result<CredentialsByConnector> load_send_credentials(const config::Config& config, asio::any_io_executor blocking);

}  // namespace sluice::outbound
