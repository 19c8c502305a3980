#include "outbound/send_credentials.h"

#include <fmt/core.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace sluice::outbound {

Result<std::string> read_password_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(fmt::format("password_file {}: cannot read: {}", file.string(), std::strerror(errno)));
  std::string password;
  std::getline(in, password);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (in.bad()) return fail(fmt::format("password_file {}: cannot read: {}", file.string(), std::strerror(errno)));
  if (password.empty()) return fail(fmt::format("password_file {}: the first line is empty", file.string()));
  return password;
}

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
        auto password = read_password_file(auth.password_file);
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

}  // namespace sluice::outbound
