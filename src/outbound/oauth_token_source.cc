#include "outbound/oauth_token_source.h"

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <optional>

#include "base/blocking.h"
#include "base/logging.h"
#include "metrics/gateway_metrics.h"

namespace sluice::outbound {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

class OAuthTokenSource final : public AccessTokenSource {
 public:
  OAuthTokenSource(ClientCredentialsGrant grant, asio::any_io_executor blocking)
      : grant_(std::make_shared<const ClientCredentialsGrant>(std::move(grant))), blocking_(std::move(blocking)) {}

  asio::awaitable<Result<AccessToken>> token() override {
    const auto now = grant_->now();
    if (cached_ && now < refresh_at_) co_return *cached_;
    if (flight_) {
      // The flight is held by this frame, not by a temporary of the co_await (GCC PR 99576).
      auto flight = flight_;
      std::error_code cancelled;
      co_await flight->done.async_wait(asio::redirect_error(asio::use_awaitable, cancelled));
      co_return flight->result;
    }
    if (now < retry_at_) {
      if (still_usable(now)) co_return *cached_;
      co_return fail(failure_text(now));
    }
    co_return co_await fetch();
  }

  void rejected(const std::string& token_value) override {
    if (cached_ && cached_->value == token_value) cached_.reset();
  }

 private:
  /// One fetch in progress: its callers after the first wait on `done` (cancelled when the
  /// result is in) instead of sending a request of their own.
  struct Flight {
    explicit Flight(asio::any_io_executor executor)
        : done(std::move(executor), asio::steady_timer::time_point::max()) {}
    asio::steady_timer done;
    Result<AccessToken> result;
  };

  asio::awaitable<Result<AccessToken>> fetch() {
    auto executor = co_await asio::this_coro::executor;
    auto flight = std::make_shared<Flight>(executor);
    flight_ = flight;
    // The grant is shared with the blocking work through this frame: the work captures only a
    // reference (base/blocking.h), and the frame outlives it.
    auto grant = grant_;
    Result<TokenGrant> fetched = fail("token request not made");
    try {
      fetched = co_await run_blocking(blocking_, [&grant] { return grant->fetch(); });
    } catch (const std::exception& e) {
      fetched = fail(fmt::format("token endpoint {}: {}", grant->endpoint(), e.what()));
    }
    flight->result = settle(fetched, grant_->now());
    flight_.reset();
    flight->done.cancel();
    co_return flight->result;
  }

  Result<AccessToken> settle(const Result<TokenGrant>& fetched, system_clock::time_point now) {
    if (fetched) {
      cached_ = fetched->token;
      refresh_at_ = fetched->token.expires_at - refresh_margin(fetched->lifetime);
      backoff_ = seconds(0);
      retry_at_ = {};
      last_error_.clear();
      metrics::token_refresh(true);
      log_info("token endpoint {}: token acquired, valid for {} s", grant_->endpoint(), fetched->lifetime.count());
      return *cached_;
    }
    backoff_ = backoff_.count() == 0 ? kFirstFetchBackoff : std::min(backoff_ * 2, kMaxFetchBackoff);
    retry_at_ = now + backoff_;
    last_error_ = fetched.error().message;
    metrics::token_refresh(false);
    if (still_usable(now)) {
      log_warning("{} (next try in {} s; the current token, valid for {} s more, is used meanwhile)", last_error_,
                  backoff_.count(), std::chrono::duration_cast<seconds>(cached_->expires_at - now).count());
      return *cached_;
    }
    log_warning("{}", failure_text(now));
    return fail(failure_text(now));
  }

  bool still_usable(system_clock::time_point now) const {
    return cached_ && cached_->expires_at - now > kMinimumRemainingLifetime;
  }

  std::string failure_text(system_clock::time_point now) const {
    const auto wait = std::chrono::ceil<seconds>(retry_at_ - now).count();
    return fmt::format("{} (next try in {} s)", last_error_, std::max<long long>(wait, 0));
  }

  std::shared_ptr<const ClientCredentialsGrant> grant_;
  asio::any_io_executor blocking_;
  std::optional<AccessToken> cached_;
  system_clock::time_point refresh_at_;
  std::shared_ptr<Flight> flight_;
  std::string last_error_;
  system_clock::time_point retry_at_;
  seconds backoff_{0};
};

}  // namespace

seconds refresh_margin(seconds lifetime) {
  const seconds margin = std::max(kMinimumRefreshMargin, lifetime / 4);
  return margin * 2 <= lifetime ? margin : lifetime / 2;
}

Result<std::unique_ptr<AccessTokenSource>> make_oauth_token_source(const config::SendAuth& auth,
                                                                   asio::any_io_executor blocking, HttpPost post,
                                                                   SystemClock clock) {
  auto grant = ClientCredentialsGrant::create(auth, std::move(post), std::move(clock));
  if (!grant) return fail(grant.error());
  return std::unique_ptr<AccessTokenSource>(std::make_unique<OAuthTokenSource>(std::move(*grant), std::move(blocking)));
}

Result<std::unique_ptr<AccessTokenSource>> make_oauth_token_source(const config::SendAuth& auth,
                                                                   asio::any_io_executor blocking) {
  return make_oauth_token_source(auth, std::move(blocking), curl_http_post, nullptr);
}

}  // namespace sluice::outbound
