#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "base/temp_dir_test_util.h"
#include "config/config.h"
#include "config/config_test_util.h"
#include "smtp/dkim_test_key.h"

namespace sluice::config {
namespace {

TEST(TlsReportingConfig, OffByDefaultWithDefaultsFromTheHostname) {
  const Config c = parse_config("hostname = \"gw.example.org\"\n", "x.toml");
  EXPECT_FALSE(c.tls_reporting.enabled);
  EXPECT_EQ(c.tls_reporting.submitter, "gw.example.org");
  EXPECT_EQ(c.tls_reporting.organization, "gw.example.org");
  EXPECT_EQ(c.tls_reporting.contact, "postmaster@gw.example.org");
  EXPECT_EQ(c.tls_reporting.from, "tlsrpt-noreply@gw.example.org");
  EXPECT_EQ(c.tls_reporting.interval, std::chrono::seconds(86400));
}

TEST(TlsReportingConfig, EveryKeyIsRead) {
  const Config c = parse_config(
      "hostname = \"gw.example.org\"\n[tls_reporting]\nenabled = true\norganization = \"Example Ltd\"\n"
      "contact = \"mailto:tls@example.org\"\nsubmitter = \"mail.example.org\"\nfrom = \"rpt@example.org\"\n"
      "interval = \"1h30m\"\nca_file = \"/etc/ca.pem\"\n",
      "x.toml");
  const auto& t = c.tls_reporting;
  EXPECT_TRUE(t.enabled);
  EXPECT_EQ(t.organization, "Example Ltd");
  EXPECT_EQ(t.contact, "mailto:tls@example.org");
  EXPECT_EQ(t.submitter, "mail.example.org");
  EXPECT_EQ(t.from, "rpt@example.org");
  EXPECT_EQ(t.interval, std::chrono::seconds(5400));
  EXPECT_EQ(t.ca_file, "/etc/ca.pem");
}

TEST(TlsReportingConfig, BadValuesSayWhy) {
  EXPECT_CONFIG_ERROR("[tls_reporting]\nintervall = \"1d\"\n", "tls_reporting");
  EXPECT_CONFIG_ERROR("[tls_reporting]\ninterval = \"daily\"\n",
                      "tls_reporting.interval: \"daily\" is not a duration such as \"1d\"");
  EXPECT_CONFIG_ERROR("[tls_reporting]\ninterval = \"8d\"\n", "must be greater than 0 and at most 7d");
  EXPECT_CONFIG_ERROR("[tls_reporting]\nfrom = \"nobody\"\n", "tls_reporting.from: \"nobody\" is not an address");
  EXPECT_CONFIG_ERROR("[tls_reporting]\nsubmitter = \"bad host\"\n", "tls_reporting.submitter");
  EXPECT_CONFIG_ERROR("[tls_reporting]\nenabled = \"yes\"\n", "tls_reporting.enabled");
  EXPECT_CONFIG_ERROR("tls_reporting = 1\n", "tls_reporting");
}

class TlsReportingDkimConfig : public ::testing::Test {
 protected:
  std::string key_file(const std::string& name, mode_t mode, int bits = 1024) {
    return text_file(name, mode, smtp::dkim_test_key(bits).private_pem);
  }
  std::string text_file(const std::string& name, mode_t mode, const std::string& text) {
    const auto path = dir_.path() / name;
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path.string();
  }
  static std::string section(const std::string& keys) {
    return "hostname = \"gw.example.org\"\n[tls_reporting]\nenabled = true\nfrom = \"rpt@example.org\"\n" + keys;
  }
  sluice::test_util::TempDir dir_{"sluice-tlsrpt-dkim"};
};

TEST_F(TlsReportingDkimConfig, KeyAndSelectorWithTheDomainOfFromByDefault) {
  const std::string key = key_file("dkim.pem", 0600);
  const Config c = parse_config(section(fmt::format("dkim_key = \"{}\"\ndkim_selector = \"rpt\"\n", key)), "x.toml");
  EXPECT_EQ(c.tls_reporting.dkim_key, key);
  EXPECT_EQ(c.tls_reporting.dkim_selector, "rpt");
  EXPECT_EQ(c.tls_reporting.dkim_domain, "example.org");
  const Config d = parse_config(
      section(fmt::format("dkim_key = \"{}\"\ndkim_selector = \"rpt\"\ndkim_domain = \"sign.example\"\n", key)),
      "x.toml");
  EXPECT_EQ(d.tls_reporting.dkim_domain, "sign.example");
  EXPECT_TRUE(parse_config(section(""), "x.toml").tls_reporting.dkim_key.empty());
}

TEST_F(TlsReportingDkimConfig, BadSettingsStopTheStartNamingTheFile) {
  const std::string key = key_file("dkim.pem", 0600);
  EXPECT_CONFIG_ERROR(section(fmt::format("dkim_key = \"{}\"\n", key)), "dkim_key and dkim_selector go together");
  EXPECT_CONFIG_ERROR(section("dkim_selector = \"rpt\"\n"), "dkim_key and dkim_selector go together");
  EXPECT_CONFIG_ERROR(section("dkim_domain = \"example.org\"\n"), "dkim_key and dkim_selector go together");
  const std::string open = key_file("open.pem", 0644);
  EXPECT_CONFIG_ERROR(section(fmt::format("dkim_key = \"{}\"\ndkim_selector = \"rpt\"\n", open)),
                      fmt::format("tls_reporting.dkim_key: \"{}\" has mode 0644", open));
  const std::string junk = text_file("junk.pem", 0600, "not a key\n");
  EXPECT_CONFIG_ERROR(section(fmt::format("dkim_key = \"{}\"\ndkim_selector = \"rpt\"\n", junk)),
                      fmt::format("tls_reporting.dkim_key: {} is not a PEM private key", junk));
  EXPECT_CONFIG_ERROR(section(fmt::format("dkim_key = \"{}\"\ndkim_selector = \"bad selector\"\n", key)),
                      "tls_reporting.dkim_selector");
  EXPECT_CONFIG_ERROR(section("dkim_key = \"/nonexistent/dkim.pem\"\ndkim_selector = \"rpt\"\n"),
                      "tls_reporting.dkim_key");
}

}  // namespace
}  // namespace sluice::config
