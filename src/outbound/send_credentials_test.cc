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
    return path;
  }
  config::SendConnector connector(const std::string& name, config::SendAuthMechanism mechanism) {
    config::SendConnector c;
    c.name = name;
    c.auth.mechanism = mechanism;
    c.auth.username = "scanner";
    return c;
  }

  test_util::TempDir dir_{"sluice-credentials"};
  asio::io_context io_;
};

TEST_F(SendCredentialsTest, ThePasswordIsTheFirstLineWithoutItsLineEnd) {
  EXPECT_EQ(read_password_file(file("a", "s3cret\n")).value(), "s3cret");
  EXPECT_EQ(read_password_file(file("b", "with space\r\nsecond line\n")).value(), "with space");
  EXPECT_EQ(read_password_file(file("c", "no newline")).value(), "no newline");
  auto empty = read_password_file(file("d", "\nlater\n"));
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, "password_file " + (dir_.path() / "d").string() + ": the first line is empty");
  auto missing = read_password_file(dir_.path() / "missing");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("missing: cannot read: No such file or directory"), std::string::npos);
}

TEST_F(SendCredentialsTest, OneEntryPerConnectorWithAuth) {
  config::Config cfg;
  auto plain = connector("Plain", config::SendAuthMechanism::Plain);
  plain.auth.password_file = file("p", "pw1\n");
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
  EXPECT_EQ(loaded->at("Plain").password, "pw1");
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
