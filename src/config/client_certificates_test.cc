// The client-certificate keys of a receive connector: what they set and every refusal.
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/config.h"
#include "config/config_test_util.h"

namespace sluice::config {
namespace {

class ClientCertificateConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / fmt::format("sluice-client-ca-{}", getpid());
    std::filesystem::create_directories(dir_);
    ca_ = dir_ / "partners-ca.pem";
    std::ofstream(ca_) << "-----BEGIN CERTIFICATE-----\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  /// One receive connector "Partners" (line 3 is the first of `keys`).
  static std::string connector(std::string_view keys) {
    return "[[receive_connector]]\nname = \"Partners\"\nlisten = [\"127.0.0.1:25\"]\n" + std::string(keys);
  }
  std::string ca_key(const std::filesystem::path& p) const {
    return fmt::format("client_ca_file = \"{}\"\n", p.string());
  }
  std::string complete() const {
    return "require_client_certificate = true\n"
           "client_certificate_names = [\"Mail.Protection.Outlook.com\", \"*.partner.example\", "
           "\"mail.protection.outlook.com\"]\n" +
           ca_key(ca_);
  }

  std::filesystem::path dir_;
  std::filesystem::path ca_;
};

TEST_F(ClientCertificateConfig, OffByDefault) {
  const ReceiveConnector c = parse_config(connector(""), "x").receive_connectors[0];
  EXPECT_FALSE(c.require_client_certificate);
  EXPECT_TRUE(c.client_certificate_names.empty());
  EXPECT_TRUE(c.client_ca_file.empty());
  EXPECT_FALSE(c.require_tls);
  EXPECT_FALSE(default_config().receive_connectors[0].require_client_certificate);
}

TEST_F(ClientCertificateConfig, NamesAreLowerCasedOnceAndTlsBecomesRequired) {
  const ReceiveConnector c = parse_config(connector(complete()), "x").receive_connectors[0];
  EXPECT_TRUE(c.require_client_certificate);
  EXPECT_EQ(c.client_certificate_names, (std::vector<std::string>{"mail.protection.outlook.com", "*.partner.example"}));
  EXPECT_EQ(c.client_ca_file, ca_);
  EXPECT_TRUE(c.require_tls);
  // Saying require_tls = true as well is no contradiction.
  EXPECT_TRUE(parse_config(connector("require_tls = true\n" + complete()), "x").receive_connectors[0].require_tls);
}

TEST_F(ClientCertificateConfig, SettingsWithoutTheSwitchAreErrors) {
  EXPECT_CONFIG_ERROR(connector("client_certificate_names = [\"a.example\"]\n"),
                      "line 4: receive_connector[0].client_certificate_names: is used only with "
                      "require_client_certificate = true");
  EXPECT_CONFIG_ERROR(connector("require_client_certificate = false\n" + ca_key(ca_)),
                      "line 5: receive_connector[0].client_ca_file: is used only with require_client_certificate = "
                      "true");
  EXPECT_CONFIG_ERROR(connector("require_client_certificate = \"yes\"\n"),
                      "receive_connector[0].require_client_certificate: expected a boolean, got a string");
}

TEST_F(ClientCertificateConfig, NeedsCaFileNamesAndTls) {
  EXPECT_CONFIG_ERROR(connector("require_client_certificate = true\nclient_certificate_names = [\"a.example\"]\n"),
                      "line 4: receive_connector[0].require_client_certificate: needs client_ca_file");
  EXPECT_CONFIG_ERROR(connector("require_client_certificate = true\n" + ca_key(ca_)),
                      "receive_connector[0].require_client_certificate: needs client_certificate_names");
  EXPECT_CONFIG_ERROR(connector("starttls = false\n" + complete()),
                      "receive_connector[0].require_client_certificate: needs starttls = true");
  EXPECT_CONFIG_ERROR(connector("require_tls = false\n" + complete()),
                      "line 4: receive_connector[0].require_tls: require_tls = false contradicts "
                      "require_client_certificate = true");
}

TEST_F(ClientCertificateConfig, CaFileMustBeReadable) {
  const std::string names = "require_client_certificate = true\nclient_certificate_names = [\"a.example\"]\n";
  const std::filesystem::path missing = dir_ / "missing.pem";
  EXPECT_CONFIG_ERROR(
      connector(names + ca_key(missing)),
      fmt::format("line 6: receive_connector[0].client_ca_file: \"{}\" does not exist", missing.string()));
  EXPECT_CONFIG_ERROR(connector(names + ca_key(dir_)),
                      fmt::format("\"{}\" is a directory, not a PEM file of CA certificates", dir_.string()));
  EXPECT_CONFIG_ERROR(connector(names + "client_ca_file = \"\"\n"),
                      "receive_connector[0].client_ca_file: must not be empty");
  if (geteuid() != 0) {  // root reads anything
    std::filesystem::permissions(ca_, std::filesystem::perms::none);
    EXPECT_CONFIG_ERROR(connector(names + ca_key(ca_)),
                        fmt::format("\"{}\" cannot be read: Permission denied", ca_.string()));
  }
}

TEST_F(ClientCertificateConfig, NamePatterns) {
  const auto with_names = [&](std::string_view list) {
    return connector(
        fmt::format("require_client_certificate = true\n{}client_certificate_names = {}\n", ca_key(ca_), list));
  };
  EXPECT_CONFIG_ERROR(with_names("[]"),
                      "line 6: receive_connector[0].client_certificate_names: an empty list "
                      "accepts no certificate");
  EXPECT_CONFIG_ERROR(with_names("\"a.example\""),
                      "receive_connector[0].client_certificate_names: expected an array, got a string");
  EXPECT_CONFIG_ERROR(with_names("[\"a.example\", \"*\"]"),
                      "receive_connector[0].client_certificate_names[1]: \"*\" is not a certificate name; write "
                      "\"mail.example.org\" or \"*.example.org\" (a wildcard is only the whole leftmost label)");
  EXPECT_CONFIG_ERROR(with_names("[\"mail*.example\"]"), "\"mail*.example\" is not a certificate name");
  EXPECT_CONFIG_ERROR(with_names("[\"mail.*.example\"]"), "\"mail.*.example\" is not a certificate name");
  EXPECT_CONFIG_ERROR(with_names("[\"mail example\"]"), "receive_connector[0].client_certificate_names[0]:");
  EXPECT_CONFIG_ERROR(with_names("[1]"), "receive_connector[0].client_certificate_names[0]: expected a string");
}

}  // namespace
}  // namespace sluice::config
