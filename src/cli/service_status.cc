#include "cli/service_status.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/service_manager.h"

namespace sluice::cli {

std::string service_status_line(std::size_t sessions, std::size_t queued) {
  return fmt::format("{} session{}, {} message{} queued", sessions, sessions == 1 ? "" : "s", queued,
                     queued == 1 ? "" : "s");
}

// A second between looks: counting sessions and queued messages is two size() calls, and a
// status that lags a second behind is as good as a current one to an administrator.
ServiceStatus::ServiceStatus(asio::io_context& io, std::function<std::string()> describe)
    : timer_(io), describe_(std::move(describe)), period_(std::chrono::seconds(1)) {
  const auto watchdog = watchdog_interval();
  if (watchdog.count() > 0) {
    watchdog_ = true;
    period_ = std::min(period_, watchdog / 2);
  }
}

void ServiceStatus::start() { tick(); }

void ServiceStatus::stop() {
  stopped_ = true;
  timer_.cancel();
}

void ServiceStatus::tick() {
  if (stopped_) return;
  if (watchdog_) notify_watchdog();
  // Sent only when it changed: an idle gateway sends nothing but its watchdog keep-alive.
  if (std::string line = describe_(); line != last_sent_) {
    notify_status(line);
    last_sent_ = std::move(line);
  }
  timer_.expires_after(period_);
  timer_.async_wait([this](std::error_code ec) {
    if (!ec) tick();
  });
}

}  // namespace sluice::cli
