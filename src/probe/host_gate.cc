#include "probe/host_gate.h"

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>

namespace sluice::probe {

HostGate::HostGate(asio::any_io_executor executor, int max_connections, std::chrono::milliseconds spacing)
    : executor_(std::move(executor)), max_(std::max(1, max_connections)), spacing_(spacing) {}

asio::awaitable<void> HostGate::acquire() {
  asio::steady_timer timer(executor_);
  bool queued = false;
  for (;;) {
    auto now = Clock::now();
    bool first = waiters_.empty() || (queued && waiters_.front() == &timer);
    if (first && active_ < max_ && now >= next_start_) {
      if (queued) waiters_.pop_front();
      ++active_;
      next_start_ = now + spacing_;
      // The next in line may be able to go too (after the pause): let it look.
      if (!waiters_.empty()) waiters_.front()->cancel();
      co_return;
    }
    if (!queued) {
      waiters_.push_back(&timer);
      queued = true;
    }
    // Only the first in line watches the clock; the others wait to be woken by a release.
    bool watch = waiters_.front() == &timer && active_ < max_;
    timer.expires_at(watch ? next_start_ : Clock::time_point::max());
    std::error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
}

void HostGate::release() {
  --active_;
  if (!waiters_.empty()) waiters_.front()->cancel();
}

}  // namespace sluice::probe
