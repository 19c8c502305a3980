// `sluice queue move --to HOST:PORT`: hands what is left in a stopped gateway's queue to another
// node over SMTP with the XMOVE extension (queue/move_parameters.h), for the day a node's disk must
// be retired (docs/queue.md, "Moving a queue to another node").
#pragma once
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>

#include "config/config.h"
#include "queue/queue_filter.h"

namespace sluice::cli {

struct QueueMoveRequest {
  config::Config config;            ///< hostname (EHLO), protocol log and tracking settings
  std::filesystem::path state_dir;  ///< whose queue
  std::string to;                   ///< "host:port", "[2001:db8::1]:25"
  std::string id;                   ///< one message, or
  queue::QueueFilter filter;        ///< those it selects (recipient-level tests select recipients), or
  bool all = false;                 ///< every message
  bool json = false;                ///< print one JSON object instead of lines
  /// Asks before moving `total` messages; throws (with the exit status) when declined.
  std::function<void(const std::string& question, std::size_t total)> confirm;
};

/// Moves the selected messages one SMTP transaction each and prints what became of them. Works on
/// the spool directly, so only when no gateway runs there; it holds the control socket meanwhile,
/// so that no gateway starts on the state directory until it is done. Returns the exit status.
int queue_move(const QueueMoveRequest& request);

}  // namespace sluice::cli
