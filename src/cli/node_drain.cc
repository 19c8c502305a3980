#include "cli/node_drain.h"

#include <fmt/format.h>
#include <unistd.h>

#include "base/logging.h"
#include "metrics/gateway_metrics.h"
#include "queue/envelope.h"

namespace sluice::cli {

std::optional<DrainEnd> drain_end(const DrainProgress& progress,
                                  std::optional<std::chrono::system_clock::time_point> deadline,
                                  std::chrono::system_clock::time_point now) {
  // A session begun before the drain may still hand over a message, and a delivery may still
  // bounce one (its notice is queued mail too): empty means all three are done.
  if (progress.sessions == 0 && progress.messages == 0 && progress.running == 0) return DrainEnd::Drained;
  if (deadline && now >= *deadline) return DrainEnd::Deadline;
  return std::nullopt;
}

std::string draining_status_line(const DrainProgress& progress) {
  std::string line = fmt::format("draining: {} message{} left", progress.messages, progress.messages == 1 ? "" : "s");
  if (progress.sessions) line += fmt::format(", {} session{}", progress.sessions, progress.sessions == 1 ? "" : "s");
  return line;
}

NodeDrain::NodeDrain(asio::io_context& io, Hooks hooks) : timer_(io), hooks_(std::move(hooks)) {}

queue::DrainState NodeDrain::drain(std::optional<std::chrono::seconds> deadline) {
  if (deadline) deadline_ = std::chrono::system_clock::now() + *deadline;
  if (!draining_ && !stopped_) {
    draining_ = true;
    metrics::set_draining(true);
    hooks_.stop_accepting();
    const auto progress = hooks_.progress();
    log_info(
        "draining: new connections get 421 4.3.2; {} message(s) queued, {} session(s) open; stopping when the "
        "queue is empty{}",
        progress.messages, progress.sessions,
        deadline_ ? fmt::format(" or at {}", queue::format_utc_time(*deadline_)) : std::string());
    retried_ = hooks_.retry_all();
    // The first look comes after this answer went out: an empty gateway stops at once, and the
    // control socket closes with it.
    schedule();
  } else if (deadline) {
    log_info("draining: deadline now {}", queue::format_utc_time(*deadline_));
  }
  return drain_state();
}

queue::DrainState NodeDrain::drain_state() const {
  const auto progress = hooks_.progress();
  return {.draining = draining_,
          .deadline = deadline_,
          .messages = progress.messages,
          .sessions = progress.sessions,
          .pid = static_cast<std::int64_t>(::getpid())};
}

void NodeDrain::stop() {
  stopped_ = true;
  timer_.cancel();
}

void NodeDrain::tick() {
  if (stopped_) return;
  // Once: from then on each message keeps its ordinary retry schedule.
  if (!retried_) retried_ = hooks_.retry_all();
  const auto progress = hooks_.progress();
  if (auto end = drain_end(progress, deadline_, std::chrono::system_clock::now())) {
    stopped_ = true;
    hooks_.finished(*end, progress.messages);
    return;
  }
  schedule();
}

void NodeDrain::schedule() {
  timer_.expires_after(period);
  timer_.async_wait([this](std::error_code ec) {
    if (!ec) tick();
  });
}

}  // namespace sluice::cli
