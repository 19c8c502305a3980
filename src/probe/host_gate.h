// Politeness towards one server: at most N connections at once and a pause between connection
// starts, because mail servers rate-limit and tarpit clients that open too many.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <deque>

namespace sluice::probe {

/// Used from one thread (the io_context's). Waiters are served in arrival order.
class HostGate {
 public:
  HostGate(asio::any_io_executor executor, int max_connections, std::chrono::milliseconds spacing);

  /// Waits for a free slot; every acquire() must be paired with release() (see Slot).
  asio::awaitable<void> acquire();
  void release();

  int active() const { return active_; }

 private:
  using Clock = std::chrono::steady_clock;
  asio::any_io_executor executor_;
  int max_;
  std::chrono::milliseconds spacing_;
  int active_ = 0;
  Clock::time_point next_start_{};
  std::deque<asio::steady_timer*> waiters_;
};

/// Releases a slot when it goes out of scope.
class Slot {
 public:
  explicit Slot(HostGate& gate) : gate_(&gate) {}
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  ~Slot() { gate_->release(); }

 private:
  HostGate* gate_;
};

}  // namespace sluice::probe
