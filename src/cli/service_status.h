// Keeps the service manager's view of a running gateway current (base/service_manager.h): the
// STATUS line `systemctl status` shows ("3 sessions, 12 messages queued"), sent when it changes,
// and the watchdog's keep-alive when the unit has WatchdogSec=. Both come from a timer on the
// network thread, so a network thread that stops turning stops them too.
#pragma once
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

namespace sluice::cli {

/// "1 session, 0 messages queued".
std::string service_status_line(std::size_t sessions, std::size_t queued);

class ServiceStatus {
 public:
  /// `describe` gives the current STATUS line; it runs on `io`'s thread.
  ServiceStatus(asio::io_context& io, std::function<std::string()> describe);
  /// Sends the first status now, then looks again every second (or at half the watchdog interval
  /// when that is shorter).
  void start();
  /// Cancels the timer, so that io_context::run() can return.
  void stop();

 private:
  void tick();

  asio::steady_timer timer_;
  std::function<std::string()> describe_;
  std::chrono::microseconds period_;
  bool watchdog_ = false;
  bool stopped_ = false;
  std::string last_sent_;
};

}  // namespace sluice::cli
