#include <gtest/gtest.h>

#include "config/config.h"
#include "config/config_test_util.h"

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

}  // namespace
}  // namespace sluice::config
