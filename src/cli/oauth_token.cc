// `sluice oauth-token`: fetch one OAuth 2.0 token the way a send connector with
// mechanism = "xoauth2" would, and show what the administrator needs to check (endpoint, scope,
// lifetime, and who the token is for), never the token itself.
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "cli/command_line.h"
#include "cli/subcommand.h"
#include "config/config.h"
#include "outbound/client_credentials_grant.h"
#include "outbound/jwt.h"

namespace sluice::cli {
namespace {

struct OAuthTokenOptions {
  std::string config_file, connector;
};

int oauth_error(std::string_view message) {
  fmt::print(stderr, "sluice oauth-token: {}\n", message);
  return kFailed;
}

/// The connector named `name`, or the only one with mechanism xoauth2 when `name` is empty.
Result<const config::SendConnector*> xoauth2_connector(const config::Config& cfg, const std::string& name) {
  std::vector<const config::SendConnector*> candidates;
  for (const auto& c : cfg.send_connectors)
    if (name.empty() ? c.auth.mechanism == config::SendAuthMechanism::XOAuth2 : c.name == name)
      candidates.push_back(&c);
  if (name.empty() && candidates.size() != 1)
    return fail(
        fmt::format("{} send connectors use mechanism = \"xoauth2\": name one with --connector", candidates.size()));
  if (candidates.empty()) return fail(fmt::format("no send connector is named \"{}\"", name));
  if (candidates[0]->auth.mechanism != config::SendAuthMechanism::XOAuth2)
    return fail(fmt::format("send connector \"{}\" has no [send_connector.auth] with mechanism = \"xoauth2\"", name));
  return candidates[0];
}

/// A claim as one line: strings as they are, arrays joined, other JSON as JSON.
std::string claim_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    std::vector<std::string> items;
    for (const auto& item : value) items.push_back(claim_text(item));
    return fmt::format("{}", fmt::join(items, ", "));
  }
  return value.dump();
}

/// The claims that say whether Exchange Online will take the token: the audience (Exchange
/// Online's resource), the application roles (SMTP.SendAsApp), the app and the tenant.
void print_claims(const nlohmann::json& claims) {
  constexpr const char* kShown[] = {"aud", "roles", "scp", "appid", "azp", "tid", "iss"};
  for (const char* name : kShown)
    if (auto it = claims.find(name); it != claims.end()) fmt::print("  {:<6} {}\n", name, claim_text(*it));
  const auto roles = claims.find("roles");
  const bool send_as_app = roles != claims.end() && roles->is_array() &&
                           std::find(roles->begin(), roles->end(), "SMTP.SendAsApp") != roles->end();
  const auto aud = claims.find("aud");
  if (aud != claims.end() && aud->is_string() &&
      aud->get<std::string>().find("outlook.office365.com") != std::string::npos && !send_as_app)
    fmt::print(
        "note: no SMTP.SendAsApp role: Exchange Online refuses AUTH XOAUTH2 with this token until the app has the "
        "SMTP.SendAsApp application permission with admin consent\n");
}

}  // namespace

int run_oauth_token(int argc, char** argv) {
  CLI::App app{
      "Fetch one OAuth 2.0 access token (client credentials grant) as a send connector with\n"
      "mechanism = \"xoauth2\" would, and show the endpoint, scope, lifetime and the token's claims\n"
      "that matter (aud, roles, appid, tid). The token itself is never printed.\n"
      "Exit status: 0 token acquired, 1 the endpoint or the credential failed (the error says what\n"
      "to fix), 2 usage or configuration error.",
      "sluice oauth-token"};
  OAuthTokenOptions o;
  app.add_option("-c,--config", o.config_file, "TOML configuration file (docs/configuration.md)")->required();
  app.add_option("--connector", o.connector,
                 "the send connector's name; may be left out when only one uses mechanism = \"xoauth2\"");
  if (auto stop = parse_command_line(app, "oauth-token", argc, argv)) return *stop;

  config::Config cfg;
  try {
    cfg = config::load_config(o.config_file);
  } catch (const std::exception& e) {
    fmt::print(stderr, "sluice oauth-token: {}\n", e.what());
    return kUsage;
  }
  auto connector = xoauth2_connector(cfg, o.connector);
  if (!connector) {
    fmt::print(stderr, "sluice oauth-token: {}\n", connector.error().message);
    return kUsage;
  }
  const config::SendAuth& auth = (*connector)->auth;
  auto grant = outbound::ClientCredentialsGrant::create(auth, outbound::curl_http_post, nullptr);
  if (!grant) return oauth_error(grant.error().message);
  fmt::print("send connector {}\n", (*connector)->name);
  fmt::print("token endpoint {}\n", grant->endpoint());
  fmt::print("client_id      {}\n", auth.client_id);
  fmt::print("scope          {}\n", grant->scope());
  fmt::print("credential     {}\n", auth.client_secret_file.empty()
                                        ? "client certificate " + auth.client_certificate.string()
                                        : "client secret from " + auth.client_secret_file.string());
  std::fflush(stdout);
  auto token = grant->fetch();
  if (!token) return oauth_error(token.error().message);
  const std::time_t expires = std::chrono::system_clock::to_time_t(token->token.expires_at);
  fmt::print("token acquired, valid for {} s (until {:%Y-%m-%dT%H:%M:%SZ}), type {}\n", token->lifetime.count(),
             fmt::gmtime(expires), token->token_type);
  if (auto jwt = outbound::decode_jwt(token->token.value)) {
    fmt::print("claims:\n");
    print_claims(jwt->claims);
  } else {
    fmt::print("the token is not a JWT (opaque to sluice): no claims to show\n");
  }
  return kOk;
}

}  // namespace sluice::cli
