#include "outbound/send_credentials.h"

#include <fmt/core.h>

#include "base/secret_file.h"

namespace sluice::outbound {

Result<CredentialsByConnector> load_send_credentials(const config::Config& config, asio::any_io_executor blocking,
                                                     const TokenSourceFactory& make_source) {
  CredentialsByConnector out;
  for (const config::SendConnector& connector : config.send_connectors) {
    const config::SendAuth& auth = connector.auth;
    SendCredentials credentials;
    switch (auth.mechanism) {
      case config::SendAuthMechanism::None:
        continue;
      case config::SendAuthMechanism::Plain:
      case config::SendAuthMechanism::Login: {
        // The configuration checked the file's mode already; read_secret_file checks again at the read.
        auto password = read_secret_file(auth.password_file, "password_file");
        if (!password) return fail(fmt::format("send connector \"{}\": {}", connector.name, password.error().message));
        credentials.password = std::move(*password);
        break;
      }
      case config::SendAuthMechanism::XOAuth2: {
        auto source = make_source(auth, blocking);
        if (!source)
          return fail(fmt::format("send connector \"{}\": XOAUTH2: {}", connector.name, source.error().message));
        credentials.tokens = std::move(*source);
        break;
      }
    }
    out.emplace(connector.name, std::move(credentials));
  }
  return out;
}

Result<CredentialsByConnector> load_send_credentials(const config::Config& config, asio::any_io_executor blocking) {
  const TokenSourceFactory oauth = [](const config::SendAuth& auth, asio::any_io_executor executor) {
    return make_oauth_token_source(auth, std::move(executor));
  };
  return load_send_credentials(config, std::move(blocking), oauth);
}

}  // namespace sluice::outbound
