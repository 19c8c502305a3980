#include <gtest/gtest.h>

#include <fstream>

#include "base/temp_dir_test_util.h"
#include "config/config.h"
#include "config/config_test_util.h"

namespace sluice::config {
namespace {

TEST(MtaStsConfig, DefaultsFetchFromPort443WithTheSystemStore) {
  const Config c = parse_config("", "x.toml");
  EXPECT_TRUE(c.mta_sts.ca_file.empty());
  EXPECT_EQ(c.mta_sts.https_port, 443);
  EXPECT_EQ(c.mta_sts.connect_timeout, Seconds(10));
  EXPECT_EQ(c.mta_sts.fetch_timeout, Seconds(30));
}

TEST(MtaStsConfig, ReadsEveryKey) {
  test_util::TempDir dir("sluice-config-mta-sts");
  const auto ca = dir.path() / "ca.pem";
  std::ofstream(ca) << "-----BEGIN CERTIFICATE-----\n";
  const Config c = parse_config(
      "[mta_sts]\nca_file = \"" + ca.string() + "\"\nhttps_port = 8443\nconnect_timeout = 2\nfetch_timeout = \"1m\"\n",
      "x.toml");
  EXPECT_EQ(c.mta_sts.ca_file, ca);
  EXPECT_EQ(c.mta_sts.https_port, 8443);
  EXPECT_EQ(c.mta_sts.connect_timeout, Seconds(2));
  EXPECT_EQ(c.mta_sts.fetch_timeout, Seconds(60));
}

TEST(MtaStsConfig, BadValuesSayWhatIsWrong) {
  EXPECT_CONFIG_ERROR("[mta_sts]\nca_file = \"/nonexistent/ca.pem\"\n", "sluice.toml: line 2: mta_sts.ca_file: ");
  EXPECT_CONFIG_ERROR("[mta_sts]\nhttps_port = 0\n", "sluice.toml: line 2: mta_sts.https_port: ");
  EXPECT_CONFIG_ERROR("[mta_sts]\nhttps_port = 70000\n", "sluice.toml: line 2: mta_sts.https_port: ");
  EXPECT_CONFIG_ERROR("[mta_sts]\nfetch_timeout = \"2m\"\n",
                      "sluice.toml: line 2: mta_sts.fetch_timeout: 120 s is longer than the minute RFC 8461 3.3 "
                      "allows a policy fetch");
  EXPECT_CONFIG_ERROR("[mta_sts]\nconnect_timeout = 0\n", "sluice.toml: line 2: mta_sts.connect_timeout: ");
  EXPECT_CONFIG_ERROR("[mta_sts]\nca_fil = \"x\"\n", "mta_sts: unknown key 'ca_fil' (did you mean 'ca_file'?)");
  EXPECT_CONFIG_ERROR("mta_sts = 1\n", "sluice.toml: line 1: mta_sts: expected a table");
}

}  // namespace
}  // namespace sluice::config
