// The queue viewer over several gateways (`sluice queue list --fleet` or several --state-dir):
// each node answers as `sluice queue list --json` does, and these pure functions merge the answers
// by next hop (one row per hop with the nodes holding its mail) or by message (oldest first, with
// the node of each). A node that could not be read stays in the result with its error: a fleet
// view that silently leaves a node out would show its mail as delivered.
#pragma once
#include <chrono>
#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "queue/message_rows.h"
#include "queue/queue_view.h"

namespace sluice::queue {

/// One node's answer, or why there is none.
struct NodeAnswer {
  std::string node;
  std::string error;   ///< non-empty: the node could not be read, and the rest is empty
  std::string source;  ///< "gateway" or "spool", as the node said
  std::chrono::system_clock::time_point now{};
  std::vector<HopRow> hops;
  std::vector<MessageRow> messages;
  std::size_t total = 0;  ///< matching messages on the node (messages holds at most the limit)
  /// The node's gateway is still reading its spool after a restart: {"read", "total"}, else null.
  nlohmann::json loading;
};

/// Reads a node's `queue list --json` output (hops, or with `messages` the --messages form) into
/// `answer`; an error (set in answer.error) for anything else.
void read_node_answer(const nlohmann::json& output, bool messages, NodeAnswer& answer);

struct FleetHopRow {
  std::string next_hop;
  std::string status;  ///< Active if any node's row is, else Ready if any is, else Retry
  std::size_t messages = 0;
  std::map<std::string, std::size_t> nodes;                         ///< node -> its messages for this hop
  std::optional<std::chrono::system_clock::time_point> next_retry;  ///< the earliest, exactly when status is Retry
  std::optional<std::chrono::system_clock::time_point> oldest;      ///< over every node
  std::string last_error;                                           ///< the latest attempt's reply over every node
  std::string last_error_node;                                      ///< the node it came from
};

/// The rows of every readable node merged by next hop, sorted by next hop.
std::vector<FleetHopRow> merge_hops(const std::vector<NodeAnswer>& nodes);

struct FleetMessageRow {
  std::string node;
  MessageRow row;
};
/// The messages of every readable node, oldest first (then node, then id), at most `limit` (0: all).
std::vector<FleetMessageRow> merge_messages(const std::vector<NodeAnswer>& nodes, std::size_t limit);

/// The node list of the JSON forms: [{"node","source","now"[,"loading"]} or {"node","error"}].
nlohmann::json nodes_json(const std::vector<NodeAnswer>& nodes);
/// {"fleet":true,"now","nodes":[...],"hops":[{"next_hop","status","messages","nodes":{"mx1":2},
/// "next_retry","oldest","last_error","last_error_node"}]} (documented in docs/queue.md).
nlohmann::json fleet_hops_json(const std::vector<FleetHopRow>& rows, const std::vector<NodeAnswer>& nodes,
                               std::chrono::system_clock::time_point now);
/// {"fleet":true,"now","nodes":[...],"total","messages":[message_rows_json's entries with "node"]}.
nlohmann::json fleet_messages_json(const std::vector<FleetMessageRow>& rows, const std::vector<NodeAnswer>& nodes,
                                   std::chrono::system_clock::time_point now);

/// "NEXT HOP  STATUS  MESSAGES  NODES  OLDEST  NEXT RETRY  LAST ERROR", NODES as "mx1:2,mx2:1" and
/// the last error prefixed with its node ("mx2: 451 4.4.0 ...").
std::string render_fleet_hops(const std::vector<FleetHopRow>& rows, std::chrono::system_clock::time_point now);
/// render_message_rows with a NODE column first.
std::string render_fleet_messages(const std::vector<FleetMessageRow>& rows, std::chrono::system_clock::time_point now);

}  // namespace sluice::queue
