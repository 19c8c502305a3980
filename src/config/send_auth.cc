// [send_connector.auth] (docs/configuration.md): how a send connector authenticates to its smart
// host. Everything that can be checked before the first delivery is checked here, so that a wrong
// setting stops the start instead of deferring mail: the keys each mechanism needs, and files
// holding secrets that others could read.
#include "config/toml_reader.h"

#include <fmt/core.h>

#include <algorithm>

#include "base/secret_file.h"
#include "config/config.h"

namespace sluice::config {
namespace {
// What `mechanism` may say. Not "none": that is a connector without an auth table, not a value.
constexpr Named<SendAuthMechanism> kSendAuthMechanismNames[] = {
    {SendAuthMechanism::Plain, "plain"}, {SendAuthMechanism::Login, "login"}, {SendAuthMechanism::XOAuth2, "xoauth2"}};
}  // namespace

std::string_view send_auth_mechanism_name(SendAuthMechanism mechanism) {
  if (mechanism == SendAuthMechanism::None) return "none";
  return name_of(kSendAuthMechanismNames, mechanism).value_or("unknown");
}

namespace detail {
namespace {

constexpr std::string_view kPasswordKeys[] = {"mechanism", "username", "password_file"};
constexpr std::string_view kOAuthKeys[] = {
    "mechanism",          "username",           "token_endpoint", "tenant", "client_id",
    "client_secret_file", "client_certificate", "client_key",     "scope",  "ca_file"};

class SendAuthReader {
 public:
  SendAuthReader(const TomlReader& reader, const toml::table& table, std::string path)
      : r_(reader), t_(table), path_(std::move(path)) {}

  SendAuth read(const SendConnector& connector) const {
    const toml::node* mechanism = t_.get("mechanism");
    if (!mechanism) r_.fail(t_, path_, "missing key 'mechanism' (\"plain\", \"login\" or \"xoauth2\")");
    SendAuth auth;
    auth.mechanism = r_.one_of(*mechanism, key("mechanism"), kSendAuthMechanismNames);
    const bool oauth = auth.mechanism == SendAuthMechanism::XOAuth2;
    check_keys(oauth ? std::span<const std::string_view>(kOAuthKeys) : kPasswordKeys, auth.mechanism);
    if (connector.tls == OutboundTls::None)
      r_.fail(*mechanism, key("mechanism"),
              "the connector has tls = \"none\", and credentials are sent only inside TLS; set tls = \"required\" "
              "or \"verify\"");
    auth.username = required_string("username", oauth ? "the mailbox the application sends as" : "the user name");
    if (oauth)
      read_oauth(auth);
    else
      auth.password_file = secret_file("password_file", "a file whose first line is the password");
    return auth;
  }

 private:
  std::string key(std::string_view name) const { return join(path_, name); }

  /// Refuses a key that the mechanism does not use, naming the mechanisms that do.
  void check_keys(Keys known, SendAuthMechanism mechanism) const {
    for (auto&& [name, node] : t_) {
      const std::string_view text = name.str();
      if (std::find(known.begin(), known.end(), text) != known.end()) continue;
      const bool password_key =
          std::find(std::begin(kPasswordKeys), std::end(kPasswordKeys), text) != std::end(kPasswordKeys);
      const bool oauth_key = std::find(std::begin(kOAuthKeys), std::end(kOAuthKeys), text) != std::end(kOAuthKeys);
      if (password_key || oauth_key)
        r_.fail(&name.source(), key(text),
                fmt::format("is not used with mechanism = \"{}\" (only with {})", send_auth_mechanism_name(mechanism),
                            password_key ? "\"plain\" and \"login\"" : "\"xoauth2\""));
    }
    r_.check_keys(t_, path_, known);
  }

  std::string required_string(std::string_view name, std::string_view what) const {
    const toml::node* n = t_.get(name);
    if (!n) r_.fail(t_, path_, fmt::format("missing key '{}' ({})", name, what));
    return r_.non_empty_string(*n, key(name));
  }

  const toml::node* file_node(std::string_view name, std::string& file) const {
    const toml::node* n = t_.get(name);
    if (n) file = r_.non_empty_string(*n, key(name));
    return n;
  }

  /// A file holding a secret: readable by sluice, by nobody else but its owner.
  std::filesystem::path secret_file(std::string_view name, std::string_view what) const {
    std::string file;
    const toml::node* n = file_node(name, file);
    if (!n) r_.fail(t_, path_, fmt::format("missing key '{}' ({})", name, what));
    check_private(*n, name, file, what);
    return file;
  }

  /// `what` completes "is a directory, not ...".
  void check_private(const toml::node& at, std::string_view name, const std::string& file,
                     std::string_view what) const {
    r_.check_readable_file(at, key(name), file, what);
    if (auto checked = check_private_file(file); !checked)
      r_.fail(at, key(name), fmt::format("{} {}", shown(file), checked.error().message));
  }

  void read_oauth(SendAuth& auth) const {
    auth.client_id = required_string("client_id", "the application (client) ID of the app registration");
    if (const toml::node* n = t_.get("tenant")) auth.tenant = r_.non_empty_string(*n, key("tenant"));
    if (const toml::node* n = t_.get("token_endpoint")) {
      auth.token_endpoint = r_.non_empty_string(*n, key("token_endpoint"));
      if (!auth.token_endpoint.starts_with("https://"))
        r_.fail(*n, key("token_endpoint"),
                fmt::format("{} is not an https:// URL; the client credentials must not travel in plaintext",
                            shown(auth.token_endpoint)));
    }
    if (auth.tenant.empty() && auth.token_endpoint.empty())
      r_.fail(t_, path_,
              "missing key 'tenant' (the directory (tenant) ID or domain; or give token_endpoint, the full URL)");
    if (const toml::node* n = t_.get("scope")) auth.scope = r_.non_empty_string(*n, key("scope"));

    std::string secret, certificate, private_key, ca;
    const toml::node* secret_node = file_node("client_secret_file", secret);
    const toml::node* certificate_node = file_node("client_certificate", certificate);
    const toml::node* key_node = file_node("client_key", private_key);
    if (secret_node && (certificate_node || key_node))
      r_.fail(certificate_node ? *certificate_node : *key_node,
              key(certificate_node ? "client_certificate" : "client_key"),
              "give either client_secret_file or client_certificate and client_key, not both");
    if (!secret_node && !certificate_node && !key_node)
      r_.fail(t_, path_, "missing key 'client_secret_file' (or client_certificate and client_key)");
    if (certificate_node && !key_node)
      r_.fail(*certificate_node, key("client_certificate"), "needs client_key, the certificate's private key");
    if (key_node && !certificate_node)
      r_.fail(*key_node, key("client_key"), "needs client_certificate, the certificate the key belongs to");
    if (secret_node) {
      check_private(*secret_node, "client_secret_file", secret, "a file whose first line is the client secret");
      auth.client_secret_file = secret;
    } else {
      r_.check_readable_file(*certificate_node, key("client_certificate"), certificate, "a PEM certificate");
      check_private(*key_node, "client_key", private_key, "a PEM private key");
      auth.client_certificate = certificate;
      auth.client_key = private_key;
    }
    if (const toml::node* n = file_node("ca_file", ca)) {
      r_.check_readable_file(*n, key("ca_file"), ca, "a PEM file of CA certificates");
      auth.ca_file = ca;
    }
  }

  const TomlReader& r_;
  const toml::table& t_;
  std::string path_;
};

}  // namespace

void read_send_auth(const TomlReader& reader, const toml::table& table, const std::string& path,
                    SendConnector& connector) {
  connector.auth = SendAuthReader(reader, table, path).read(connector);
}

}  // namespace detail
}  // namespace sluice::config
