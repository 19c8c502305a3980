#include "outbound/send_credentials.h"

#include <gtest/gtest.h>
#include <asio/io_context.hpp>

#include <fstream>

#include "base/temp_dir_test_util.h"

namespace sluice::outbound {
namespace {

class NoTokens : public AccessTokenSource {
 public:
  asio::awaitable<Result<AccessToken>> token() override { co_return Result<AccessToken>(fail("none")); }
  void rejected(const std::string&) override {}
};

class SendCredentialsTest : public ::testing::Test {
 protected:
  std::filesystem::path file(const std::string& name, const std::string& text) {
    auto path = dir_.path() / name;
    std::ofstream(path, std::ios::binary) << text;
    std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return path;
  }
  config::SendConnector connector(const std::string& name, config::SendAuthMechanism mechanism) {
    config::SendConnector c;
    c.name = name;
    c.auth.mechanism = mechanism;
    c.auth.username = "scanner";
    return c;
  }

  sluice::test_util::TempDir dir_{"sluice-credentials"};
  asio::io_context io_;
};

TEST_F(SendCredentialsTest, OneEntryPerConnectorWithAuth) {
  config::Config cfg;
  auto plain = connector("Plain", config::SendAuthMechanism::Plain);
  plain.auth.password_file = file("p", "pw1\r\nsecond line\n");
  auto oauth = connector("OAuth", config::SendAuthMechanism::XOAuth2);
  cfg.send_connectors = {connector("Anonymous", config::SendAuthMechanism::None), plain, oauth};
  int sources = 0;
  auto loaded =
      load_send_credentials(cfg, io_.get_executor(), [&](const config::SendAuth& auth, asio::any_io_executor) {
        ++sources;
        EXPECT_EQ(auth.mechanism, config::SendAuthMechanism::XOAuth2);
        return Result<std::unique_ptr<AccessTokenSource>>(std::make_unique<NoTokens>());
      });
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(sources, 1);
  EXPECT_EQ(loaded->count("Anonymous"), 0u);
  EXPECT_EQ(loaded->at("Plain").password, "pw1");  // the first line, without its line end
  EXPECT_EQ(loaded->at("Plain").tokens, nullptr);
  EXPECT_NE(loaded->at("OAuth").tokens, nullptr);
  EXPECT_TRUE(loaded->at("OAuth").password.empty());
}

TEST_F(SendCredentialsTest, AFailureNamesTheConnector) {
  config::Config cfg;
  cfg.send_connectors = {connector("Exchange Online", config::SendAuthMechanism::XOAuth2)};
  auto loaded = load_send_credentials(cfg, io_.get_executor(), [](const config::SendAuth&, asio::any_io_executor) {
    return Result<std::unique_ptr<AccessTokenSource>>(fail("client_secret_file /x: cannot read"));
  });
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().message, "send connector \"Exchange Online\": XOAUTH2: client_secret_file /x: cannot read");

  auto login = connector("Device relay", config::SendAuthMechanism::Login);
  login.auth.password_file = dir_.path() / "gone";
  cfg.send_connectors = {login};
  auto missing = load_send_credentials(cfg, io_.get_executor());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message.rfind("send connector \"Device relay\": password_file ", 0), 0u);
}

}  // namespace
}  // namespace sluice::outbound
