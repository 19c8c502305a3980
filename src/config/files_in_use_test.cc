#include "config/files_in_use.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "base/temp_dir_test_util.h"

namespace sluice::config {
namespace {

std::vector<std::string> described(const std::vector<FileInUse>& files) {
  std::vector<std::string> lines;
  for (const auto& f : files) lines.push_back(f.setting + " " + f.path.string());
  return lines;
}

TEST(FilesInUse, TheZeroConfigurationReadsNothingButItsOwnState) {
  EXPECT_TRUE(files_in_use(default_config(), "").empty());
  EXPECT_EQ(described(files_in_use(default_config(), "/etc/sluice/sluice.toml")),
            std::vector<std::string>{"the configuration file /etc/sluice/sluice.toml"});
}

TEST(FilesInUse, TheTlsReportingCaFileOnlyWhenReportingIsOn) {
  const auto on = parse_config("[tls_reporting]\nenabled = true\nca_file = \"/etc/ca.pem\"\n", "x.toml");
  EXPECT_EQ(described(files_in_use(on, "")), std::vector<std::string>{"tls_reporting.ca_file /etc/ca.pem"});
  const auto off = parse_config("[tls_reporting]\nca_file = \"/etc/ca.pem\"\n", "x.toml");
  EXPECT_TRUE(files_in_use(off, "").empty());
}

TEST(FilesInUse, TheTlsReportingDkimKeyWhenReportingIsOn) {
  Config config = default_config();
  config.tls_reporting.dkim_key = "/etc/sluice/dkim.pem";
  EXPECT_TRUE(files_in_use(config, "").empty());
  config.tls_reporting.enabled = true;
  EXPECT_EQ(described(files_in_use(config, "")),
            std::vector<std::string>{"tls_reporting.dkim_key /etc/sluice/dkim.pem"});
}

TEST(FilesInUse, NamesEveryFileReadAgainWithItsSetting) {
  test_util::TempDir dir("sluice-files-in-use");
  // The configuration checks that some of them exist, and that a secret is open to nobody else.
  auto file = [&](const char* name) {
    const auto path = dir.path() / name;
    std::ofstream(path) << "x\n";
    ::chmod(path.c_str(), 0600);
    return path.string();
  };
  const Config c = parse_config(
      fmt::format(R"toml(
users_file = "{users}"
[recipient_validation]
recipients_file = "{recipients}"
[[receive_connector]]
name = "Internet"
listen = ["0.0.0.0:25"]
[receive_connector.tls]
certificate = "{crt}"
key = "{key}"
[[receive_connector]]
name = "Partner"
listen = ["0.0.0.0:2525"]
require_client_certificate = true
client_certificate_names = ["mail.protection.outlook.com"]
client_ca_file = "{client_ca}"
[[send_connector]]
name = "Smart host"
smart_hosts = ["[relay.example.net]:587"]
tls = "verify"
ca_file = "{relay_ca}"
[send_connector.auth]
mechanism = "plain"
username = "gw"
password_file = "{password}"
)toml",
                  fmt::arg("users", file("users")), fmt::arg("recipients", file("recipients")),
                  fmt::arg("crt", file("mx.crt")), fmt::arg("key", file("mx.key")),
                  fmt::arg("client_ca", file("partner-ca.pem")), fmt::arg("relay_ca", file("relay-ca.pem")),
                  fmt::arg("password", file("relay.password"))),
      "x.toml");
  const std::string d = dir.path().string();
  EXPECT_EQ(described(files_in_use(c, "/etc/sluice/sluice.toml")),
            (std::vector<std::string>{
                "the configuration file /etc/sluice/sluice.toml",
                "users_file " + d + "/users",
                "recipient_validation.recipients_file " + d + "/recipients",
                "receive_connector \"Internet\": tls.certificate " + d + "/mx.crt",
                "receive_connector \"Internet\": tls.key " + d + "/mx.key",
                "receive_connector \"Partner\": client_ca_file " + d + "/partner-ca.pem",
                "send_connector \"Smart host\": ca_file " + d + "/relay-ca.pem",
                "send_connector \"Smart host\": auth.password_file " + d + "/relay.password",
            }));
}

}  // namespace
}  // namespace sluice::config
