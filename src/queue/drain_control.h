// The control socket's "drain" and "drain-status" requests (docs/queue.md, "Draining a node"):
// a running gateway stops taking new sessions, tries every deferred message now, and exits once
// its queue is empty or at a deadline. The gateway side (cli/node_drain) is reached through
// DrainControl, so the protocol is tested without one. Only a running gateway drains: the spool on
// disk has nothing to drain.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>

namespace sluice::queue {

/// What a gateway says about its draining.
struct DrainState {
  bool draining = false;
  /// When the gateway gives up and exits with what is left still spooled; none: until empty.
  std::optional<std::chrono::system_clock::time_point> deadline;
  std::size_t messages = 0;  ///< queued now
  std::size_t sessions = 0;  ///< inbound sessions still open (begun before the drain)
  std::int64_t pid = 0;      ///< the gateway's process, so that `sluice queue drain --wait` sees it end
};

class DrainControl {
 public:
  virtual ~DrainControl() = default;
  /// Starts draining; while draining already, changes nothing but the deadline, when one is given
  /// (counted from now).
  virtual DrainState drain(std::optional<std::chrono::seconds> deadline) = 0;
  virtual DrainState drain_state() const = 0;
};

/// The longest deadline a request may give (a year): anything longer is a typing mistake.
inline constexpr std::chrono::seconds kMaxDrainDeadline{365LL * 24 * 3600};

/// True for the requests drain_answer() answers ("drain", "drain-status").
bool is_drain_request(const nlohmann::json& request);

/// {"command":"drain"} with an optional "deadline_seconds" (1 to kMaxDrainDeadline), or
/// {"command":"drain-status"}: {"ok":true,"draining":bool,"was_draining":bool (drain only),
/// "messages":N,"sessions":N,"deadline":time|null,"pid":N}, or {"ok":false,"error":"..."}.
nlohmann::json drain_answer(const nlohmann::json& request, DrainControl& node);

/// The state in a drain answer; nullopt when it is not one.
std::optional<DrainState> drain_state_from_json(const nlohmann::json& answer);

}  // namespace sluice::queue
