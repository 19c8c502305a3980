// Draining a running gateway (docs/queue.md, "Draining a node"): on the control socket's "drain"
// (queue/drain_control), new connections are refused with 421 4.3.2 while sessions in progress
// finish, every deferred message is tried now and then on its schedule, and once nothing is left
// (no session, no queued message, no delivery running) or at the deadline the gateway stops. What
// it looks at and does is given as hooks by `sluice serve`, so the decisions are tested alone.
#pragma once
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "queue/drain_control.h"

namespace sluice::cli {

/// `sluice serve`'s exit status when a drain reached its deadline with mail still queued
/// (EX_TEMPFAIL; packaging/sluice.service lists it in RestartPreventExitStatus=).
inline constexpr int kExitDrainDeadline = 75;

/// What the gateway has still to do.
struct DrainProgress {
  std::size_t sessions = 0;  ///< inbound sessions open
  std::size_t messages = 0;  ///< messages queued
  std::size_t running = 0;   ///< deliveries in progress, and the spool loader after a restart
};

enum class DrainEnd { Drained, Deadline };

/// Whether a drain has ended: Drained when nothing is left, Deadline when `now` reached the deadline
/// first; nullopt while it goes on.
std::optional<DrainEnd> drain_end(const DrainProgress& progress,
                                  std::optional<std::chrono::system_clock::time_point> deadline,
                                  std::chrono::system_clock::time_point now);

/// "draining: 12 messages left, 1 session": the service manager's STATUS line while draining.
std::string draining_status_line(const DrainProgress& progress);

class NodeDrain : public queue::DrainControl {
 public:
  struct Hooks {
    std::function<void()> stop_accepting;  ///< new connections get 421 4.3.2 from now on
    /// Makes every deferred message due now; false when the queue cannot yet (still reading its
    /// spool after a restart): it is asked again until it can.
    std::function<bool()> retry_all;
    std::function<DrainProgress()> progress;
    /// Once, when the drain ends; `messages` is what is still queued (0 when drained).
    std::function<void(DrainEnd end, std::size_t messages)> finished;
  };
  NodeDrain(asio::io_context& io, Hooks hooks);

  queue::DrainState drain(std::optional<std::chrono::seconds> deadline) override;
  queue::DrainState drain_state() const override;
  bool draining() const { return draining_; }
  /// The gateway stops for another reason (a signal): look no more.
  void stop();

  /// How often the drain looks at the gateway: seldom enough to cost nothing, often enough that
  /// a drained node is gone within a blink of its last delivery.
  std::chrono::milliseconds period{200};

 private:
  void tick();
  void schedule();

  asio::steady_timer timer_;
  Hooks hooks_;
  bool draining_ = false;
  bool retried_ = false;
  bool stopped_ = false;
  std::optional<std::chrono::system_clock::time_point> deadline_;
};

}  // namespace sluice::cli
