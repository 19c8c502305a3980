#include <fmt/core.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "base/temp_dir_test_util.h"
#include "config/config.h"
#include "config/config_test_util.h"

namespace sluice::config {
namespace {

class SendAuthConfig : public ::testing::Test {
 protected:
  /// A file in the test's directory with `mode`.
  std::string file(const std::string& name, mode_t mode, const std::string& text = "s3cret\n") {
    const auto path = dir_.path() / name;
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path.string();
  }
  /// One smart-host connector with tls = "required" (or `tls`) and an [auth] table of `keys`.
  static std::string connector(const std::string& keys, std::string_view tls = "required") {
    return fmt::format(
        "[[send_connector]]\nname = \"Relay\"\nsmart_hosts = [\"[relay.example.net]:587\"]\ntls = \"{}\"\n"
        "[send_connector.auth]\n{}",
        tls, keys);
  }
  std::string plain_keys(std::string_view mechanism = "plain") {
    return fmt::format("mechanism = \"{}\"\nusername = \"scanner\"\npassword_file = \"{}\"\n", mechanism,
                       file("password", 0600));
  }
  std::string oauth_keys(std::string_view extra) {
    return fmt::format("mechanism = \"xoauth2\"\nusername = \"app@contoso.com\"\nclient_id = \"c1\"\n{}", extra);
  }

  sluice::test_util::TempDir dir_{"sluice-send-auth"};
};

TEST_F(SendAuthConfig, PlainAndLoginNeedAUserAndAPrivatePasswordFile) {
  const Config c = parse_config(connector(plain_keys()), "x");
  const SendAuth& a = c.send_connectors[0].auth;
  EXPECT_EQ(a.mechanism, SendAuthMechanism::Plain);
  EXPECT_EQ(a.username, "scanner");
  EXPECT_EQ(a.password_file, dir_.path() / "password");
  EXPECT_EQ(parse_config(connector(plain_keys("login")), "x").send_connectors[0].auth.mechanism,
            SendAuthMechanism::Login);
  // No [auth]: no authentication.
  EXPECT_EQ(default_config().send_connectors[0].auth.mechanism, SendAuthMechanism::None);

  EXPECT_CONFIG_ERROR(connector("mechanism = \"plain\"\nusername = \"u\"\n"),
                      "send_connector[0].auth: missing key 'password_file'");
  EXPECT_CONFIG_ERROR(connector(fmt::format("mechanism = \"login\"\npassword_file = \"{}\"\n", file("p", 0600))),
                      "send_connector[0].auth: missing key 'username'");
  EXPECT_CONFIG_ERROR(connector("username = \"u\"\n"), "send_connector[0].auth: missing key 'mechanism'");
  EXPECT_CONFIG_ERROR(connector("mechanism = \"cram-md5\"\n"),
                      "send_connector[0].auth.mechanism: \"cram-md5\" is not one of plain, login, xoauth2");
}

TEST_F(SendAuthConfig, RefusesAPasswordFileOthersCanReadNamingItAndItsMode) {
  const std::string open_file = file("open", 0644);
  EXPECT_CONFIG_ERROR(
      connector(fmt::format("mechanism = \"plain\"\nusername = \"u\"\npassword_file = \"{}\"\n", open_file)),
      fmt::format("send_connector[0].auth.password_file: \"{}\" has mode 0644: a file holding a secret must not be "
                  "open to group or others; chmod 600 it",
                  open_file));
  const std::string group_file = file("group", 0640);
  EXPECT_CONFIG_ERROR(
      connector(fmt::format("mechanism = \"plain\"\nusername = \"u\"\npassword_file = \"{}\"\n", group_file)),
      "has mode 0640");
  const std::string missing = (dir_.path() / "missing").string();
  EXPECT_CONFIG_ERROR(
      connector(fmt::format("mechanism = \"plain\"\nusername = \"u\"\npassword_file = \"{}\"\n", missing)),
      fmt::format("send_connector[0].auth.password_file: \"{}\" does not exist", missing));
  EXPECT_CONFIG_ERROR(
      connector(fmt::format("mechanism = \"plain\"\nusername = \"u\"\npassword_file = \"{}\"\n", dir_.path().string())),
      fmt::format("send_connector[0].auth.password_file: \"{}\" is a directory, not a file whose first line is the "
                  "password",
                  dir_.path().string()));
}

TEST_F(SendAuthConfig, NeverOnAConnectorWithoutTls) {
  EXPECT_CONFIG_ERROR(connector(plain_keys(), "none"),
                      "send_connector[0].auth.mechanism: the connector has tls = \"none\", and credentials are sent "
                      "only inside TLS");
  // Opportunistic is allowed: the client refuses to authenticate when TLS did not come about.
  EXPECT_EQ(parse_config(connector(plain_keys(), "opportunistic"), "x").send_connectors[0].auth.mechanism,
            SendAuthMechanism::Plain);
}

TEST_F(SendAuthConfig, KeysOfTheOtherMechanismAreRefusedByName) {
  EXPECT_CONFIG_ERROR(connector(plain_keys() + "client_id = \"c\"\n"),
                      "send_connector[0].auth.client_id: is not used with mechanism = \"plain\" (only with "
                      "\"xoauth2\")");
  EXPECT_CONFIG_ERROR(
      connector(oauth_keys(
          fmt::format("tenant = \"t\"\nclient_secret_file = \"{}\"\npassword_file = \"x\"\n", file("secret", 0600)))),
      "send_connector[0].auth.password_file: is not used with mechanism = \"xoauth2\" (only with \"plain\" and "
      "\"login\")");
  EXPECT_CONFIG_ERROR(connector(plain_keys() + "pasword_file = \"x\"\n"),
                      "unknown key 'pasword_file' (did you mean 'password_file'?)");
}

TEST_F(SendAuthConfig, Xoauth2WithAClientSecret) {
  const std::string secret = file("secret", 0600);
  const Config c = parse_config(connector(oauth_keys(fmt::format("tenant = \"contoso.onmicrosoft.com\"\n"
                                                                 "client_secret_file = \"{}\"\n",
                                                                 secret))),
                                "x");
  const SendAuth& a = c.send_connectors[0].auth;
  EXPECT_EQ(a.mechanism, SendAuthMechanism::XOAuth2);
  EXPECT_EQ(a.username, "app@contoso.com");
  EXPECT_EQ(a.client_id, "c1");
  EXPECT_EQ(a.tenant, "contoso.onmicrosoft.com");
  EXPECT_EQ(a.client_secret_file, secret);
  EXPECT_TRUE(a.token_endpoint.empty());
  EXPECT_EQ(a.scope, "https://outlook.office365.com/.default");

  const std::string ca = file("ca.pem", 0644, "-----BEGIN CERTIFICATE-----\n");
  const Config d =
      parse_config(connector(oauth_keys(fmt::format("token_endpoint = \"https://127.0.0.1:8443/token\"\nscope = \"s\"\n"
                                                    "client_secret_file = \"{}\"\nca_file = \"{}\"\n",
                                                    secret, ca))),
                   "x");
  EXPECT_EQ(d.send_connectors[0].auth.token_endpoint, "https://127.0.0.1:8443/token");
  EXPECT_EQ(d.send_connectors[0].auth.scope, "s");
  EXPECT_EQ(d.send_connectors[0].auth.ca_file, ca);
}

TEST_F(SendAuthConfig, Xoauth2WithAClientCertificate) {
  const std::string certificate = file("app.pem", 0644), key = file("app.key", 0600);
  const Config c =
      parse_config(connector(oauth_keys(fmt::format(
                       "tenant = \"t\"\nclient_certificate = \"{}\"\nclient_key = \"{}\"\n", certificate, key))),
                   "x");
  EXPECT_EQ(c.send_connectors[0].auth.client_certificate, certificate);
  EXPECT_EQ(c.send_connectors[0].auth.client_key, key);
  EXPECT_TRUE(c.send_connectors[0].auth.client_secret_file.empty());

  EXPECT_CONFIG_ERROR(connector(oauth_keys(fmt::format("tenant = \"t\"\nclient_certificate = \"{}\"\n", certificate))),
                      "send_connector[0].auth.client_certificate: needs client_key");
  EXPECT_CONFIG_ERROR(connector(oauth_keys(fmt::format("tenant = \"t\"\nclient_key = \"{}\"\n", key))),
                      "send_connector[0].auth.client_key: needs client_certificate");
  EXPECT_CONFIG_ERROR(
      connector(oauth_keys(fmt::format("tenant = \"t\"\nclient_certificate = \"{}\"\nclient_key = \"{}\"\n"
                                       "client_secret_file = \"{}\"\n",
                                       certificate, key, file("secret", 0600)))),
      "give either client_secret_file or client_certificate and client_key, not both");
  EXPECT_CONFIG_ERROR(
      connector(oauth_keys(fmt::format("tenant = \"t\"\nclient_certificate = \"{}\"\nclient_key = \"{}\"\n",
                                       certificate, file("open.key", 0604)))),
      "send_connector[0].auth.client_key: ");
}

TEST_F(SendAuthConfig, Xoauth2NeedsItsKeys) {
  const std::string secret_key = fmt::format("client_secret_file = \"{}\"\n", file("secret", 0600));
  EXPECT_CONFIG_ERROR(connector(oauth_keys(secret_key)), "send_connector[0].auth: missing key 'tenant'");
  EXPECT_CONFIG_ERROR(connector(oauth_keys("tenant = \"t\"\n")),
                      "send_connector[0].auth: missing key 'client_secret_file' (or client_certificate and "
                      "client_key)");
  EXPECT_CONFIG_ERROR(connector("mechanism = \"xoauth2\"\nusername = \"a@b\"\ntenant = \"t\"\n" + secret_key),
                      "send_connector[0].auth: missing key 'client_id'");
  EXPECT_CONFIG_ERROR(connector(oauth_keys("tenant = \"t\"\ntoken_endpoint = \"http://idp/token\"\n" + secret_key)),
                      "send_connector[0].auth.token_endpoint: \"http://idp/token\" is not an https:// URL");
  EXPECT_CONFIG_ERROR(
      connector(oauth_keys(fmt::format("tenant = \"t\"\nclient_secret_file = \"{}\"\n", file("open-secret", 0644)))),
      "send_connector[0].auth.client_secret_file: ");
}

}  // namespace
}  // namespace sluice::config
