#include "outbound/oauth_token_source.h"

#include <gtest/gtest.h>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include "metrics/metrics_test_util.h"
#include "outbound/oauth_test_util.h"

namespace sluice::outbound {
namespace {

using namespace std::chrono_literals;
using namespace test_util;

/// The token requests run on the test's io_context itself (the source's `blocking` executor), so
/// every interleaving is decided by asio's FIFO order, without threads.
class OAuthTokenSourceTest : public ::testing::Test {
 protected:
  OAuthTokenSourceTest() {
    auto made = make_oauth_token_source(secret_auth(dir.path()), io.get_executor(), endpoint.post(), clock.function());
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
    if (made) source = std::move(*made);
  }

  /// Starts `count` token() calls at once and runs them to the end.
  std::vector<Result<AccessToken>> tokens(int count) {
    std::vector<Result<AccessToken>> results(count, fail("not finished"));
    for (int i = 0; i < count; ++i)
      asio::co_spawn(io, source->token(), [&results, i](std::exception_ptr e, Result<AccessToken> r) {
        EXPECT_FALSE(e);
        results[i] = std::move(r);
      });
    io.restart();
    io.run();
    return results;
  }
  Result<AccessToken> token() { return std::move(tokens(1)[0]); }
  std::string value_of(const Result<AccessToken>& r) { return r ? r->value : "error: " + r.error().message; }

  sluice::test_util::TempDir dir{"sluice-oauth"};
  FakeTokenEndpoint endpoint;
  FakeClock clock;
  asio::io_context io;
  std::unique_ptr<AccessTokenSource> source;
};

TEST_F(OAuthTokenSourceTest, FirstCallFetchesTheNextOnesReuse) {
  endpoint.answers = {token_answer("token-1", 3599), token_answer("token-2", 3599)};
  auto first = token();
  EXPECT_EQ(value_of(first), "token-1");
  EXPECT_EQ(first->expires_at, clock.now + 3599s);
  clock.now += 30min;
  EXPECT_EQ(value_of(token()), "token-1");
  EXPECT_EQ(value_of(token()), "token-1");
  EXPECT_EQ(endpoint.requests.size(), 1u);
}

TEST_F(OAuthTokenSourceTest, RefreshesWhileMoreThanTenMinutesAreLeft) {
  endpoint.answers = {token_answer("token-1", 3600), token_answer("token-2", 3600)};
  const auto start = clock.now;
  EXPECT_EQ(value_of(token()), "token-1");
  clock.now = start + 3600s - kMinimumRefreshMargin - 1s;  // 15 min and 1 s left: still used
  EXPECT_EQ(value_of(token()), "token-1");
  EXPECT_EQ(endpoint.requests.size(), 1u);
  clock.now += 1s;  // 15 min left: Exchange's high-volume endpoint would accept it for 5 more
  EXPECT_EQ(value_of(token()), "token-2");
  EXPECT_EQ(endpoint.requests.size(), 2u);
}

TEST_F(OAuthTokenSourceTest, RefreshMarginIsOverTenMinutesForEveryRealisticLifetime) {
  EXPECT_EQ(refresh_margin(3600s), 900s);
  EXPECT_EQ(refresh_margin(5400s), 1350s);  // Entra's 60 to 90 minutes: a quarter, when longer
  EXPECT_EQ(refresh_margin(86400s), 21600s);
  for (auto lifetime = 1800s; lifetime <= 86400s; lifetime += 60s) {
    EXPECT_GE(refresh_margin(lifetime), 15min) << lifetime.count();
    EXPECT_LE(refresh_margin(lifetime), lifetime / 2) << lifetime.count();
  }
  EXPECT_EQ(refresh_margin(600s), 300s);  // shorter tokens: used for half their life
}

TEST_F(OAuthTokenSourceTest, ConcurrentCallersShareOneRequest) {
  endpoint.answers = {token_answer("token-1", 3599), token_answer("token-2", 3599)};
  auto results = tokens(8);
  for (const auto& r : results) EXPECT_EQ(value_of(r), "token-1");
  EXPECT_EQ(endpoint.requests.size(), 1u);
}

TEST_F(OAuthTokenSourceTest, ConcurrentCallersShareOneFailure) {
  endpoint.answers = {fail("could not connect: Connection refused")};
  auto results = tokens(5);
  for (const auto& r : results) EXPECT_NE(value_of(r).find("could not connect: Connection refused"), std::string::npos);
  EXPECT_EQ(endpoint.requests.size(), 1u);
}

TEST_F(OAuthTokenSourceTest, BacksOffAfterFailuresAndRecovers) {
  endpoint.answers = {fail("could not connect: Connection refused"), fail("could not connect: Connection refused"),
                      token_answer("token-1", 3599)};
  const std::string endpoint_text =
      "token endpoint https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token: ";
  const std::string ok = "sluice_oauth_token_refreshes_total{result=\"ok\"}",
                    failed = "sluice_oauth_token_refreshes_total{result=\"failed\"}";
  const double ok_before = metrics::test_util::series_value(ok),
               failed_before = metrics::test_util::series_value(failed);
  EXPECT_EQ(value_of(token()), "error: " + endpoint_text + "could not connect: Connection refused (next try in 10 s)");
  clock.now += 4s;
  EXPECT_EQ(value_of(token()), "error: " + endpoint_text + "could not connect: Connection refused (next try in 6 s)");
  EXPECT_EQ(endpoint.requests.size(), 1u);  // failed at once, nothing sent
  clock.now += 6s;
  EXPECT_EQ(value_of(token()), "error: " + endpoint_text + "could not connect: Connection refused (next try in 20 s)");
  EXPECT_EQ(endpoint.requests.size(), 2u);
  clock.now += 19s;
  EXPECT_FALSE(token().ok());
  EXPECT_EQ(endpoint.requests.size(), 2u);
  clock.now += 1s;
  EXPECT_EQ(value_of(token()), "token-1");
  EXPECT_EQ(endpoint.requests.size(), 3u);
  // Requests made, not calls answered from the backoff.
  EXPECT_EQ(metrics::test_util::series_value(failed) - failed_before, 2);
  EXPECT_EQ(metrics::test_util::series_value(ok) - ok_before, 1);
}

TEST_F(OAuthTokenSourceTest, BackoffDoublesUpToTenMinutes) {
  endpoint.answers = {HttpResponse{503, "<html>Service Unavailable</html>"}};
  std::vector<long> waits;
  for (int i = 0; i < 9; ++i) {
    auto r = token();
    ASSERT_FALSE(r.ok());
    auto at = r.error().message.find("next try in ");
    ASSERT_NE(at, std::string::npos) << r.error().message;
    waits.push_back(std::stol(r.error().message.substr(at + 12)));
    clock.now += std::chrono::seconds(waits.back());
  }
  EXPECT_EQ(waits, (std::vector<long>{10, 20, 40, 80, 160, 320, 600, 600, 600}));
  EXPECT_EQ(endpoint.requests.size(), 9u);
}

TEST_F(OAuthTokenSourceTest, AFailedRefreshKeepsHandingOutATokenWithMoreThanTenMinutesLeft) {
  endpoint.answers = {token_answer("token-1", 3600), fail("timed out: Operation timed out after 30000 milliseconds")};
  const auto start = clock.now;
  EXPECT_EQ(value_of(token()), "token-1");
  clock.now = start + 3600s - 14min;  // due for refresh; the refresh fails
  EXPECT_EQ(value_of(token()), "token-1");
  EXPECT_EQ(endpoint.requests.size(), 2u);
  clock.now += 5s;  // in backoff: no request, the token still has 13 minutes
  EXPECT_EQ(value_of(token()), "token-1");
  EXPECT_EQ(endpoint.requests.size(), 2u);
  clock.now = start + 3600s - 10min;  // Exchange would refuse it now
  auto r = token();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("timed out"), std::string::npos) << r.error().message;
}

TEST_F(OAuthTokenSourceTest, RejectedTokenIsFetchedAgain) {
  endpoint.answers = {token_answer("token-1", 3599), token_answer("token-2", 3599)};
  EXPECT_EQ(value_of(token()), "token-1");
  source->rejected("some-older-token");  // not the cached one: kept
  EXPECT_EQ(value_of(token()), "token-1");
  EXPECT_EQ(endpoint.requests.size(), 1u);
  source->rejected("token-1");
  EXPECT_EQ(value_of(token()), "token-2");
  EXPECT_EQ(endpoint.requests.size(), 2u);
}

TEST(OAuthTokenSourceCreate, FailsNamingTheSecretFile) {
  sluice::test_util::TempDir dir{"sluice-oauth"};
  auto auth = secret_auth(dir.path());
  ::chmod(auth.client_secret_file.c_str(), 0644);
  asio::io_context io;
  auto made = make_oauth_token_source(auth, io.get_executor());
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().message, "client_secret_file " + auth.client_secret_file.string() +
                                      " has mode 0644: a file holding a secret must not be open to group or others; "
                                      "chmod 600 it");
}

}  // namespace
}  // namespace sluice::outbound
