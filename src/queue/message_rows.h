// `sluice queue list --messages`: one row per queued message (id, age, size, sender, status, next
// hops, next retry) with each recipient's status and last error, as Exchange's Queue Viewer lists
// messages. The gateway selects and pages the rows (control_protocol), the CLI renders them.
#pragma once
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "queue/envelope.h"
#include "queue/queue_filter.h"
#include "queue/queue_status.h"

namespace sluice::queue {

struct RecipientRow {
  std::string address;
  std::string status;  ///< "Active", "Ready", "Retry" while it waits; "Delivered" or "Failed" once done
  std::string next_hop;
  int attempts = 0;
  std::string last_error;                                           ///< the reply of its latest attempt, "" before any
  std::optional<std::chrono::system_clock::time_point> next_retry;  ///< exactly when status is "Retry"
};

struct MessageRow {
  std::string id;
  std::chrono::system_clock::time_point received{};
  std::uint64_t size = 0;
  std::string from;    ///< "" for the null sender
  std::string status;  ///< of the recipients the filter selects (all waiting ones without one), or BouncePending
  std::optional<std::chrono::system_clock::time_point> next_retry;  ///< exactly when status is "Retry"
  std::vector<std::string> next_hops;                               ///< of its waiting recipients, sorted, each once
  std::vector<RecipientRow> recipients;
};

/// A queued message that a filter selected, with its status.
struct MessageMatch {
  const Envelope* envelope = nullptr;
  Standing standing;
};

/// The messages `filter` selects, in no order: a message matches when its message-level tests pass,
/// at least one waiting recipient passes the recipient-level ones, and the status of those
/// recipients is the filter's status. A message with no recipient waiting is not queued mail,
/// unless it owes a notice (status kBouncePending; matched by message-level tests only).
std::vector<MessageMatch> matching_messages(const std::vector<const Envelope*>& envelopes, const QueueFilter& filter,
                                            const LiveHops& live, std::chrono::system_clock::time_point now);
/// The listing order, oldest first: received (to the microsecond, as in JSON), then id.
std::pair<std::chrono::system_clock::time_point, std::string_view> age_key(const Envelope& envelope);
bool older(const MessageMatch& a, const MessageMatch& b);

MessageRow message_row(const MessageMatch& match, const LiveHops& live, std::chrono::system_clock::time_point now);

/// [{"id","received","size","from","status","next_retry","next_hops":[...],"recipients":[{"address",
/// "status","next_hop","attempts","last_error","next_retry"}]}] (times ISO-8601 UTC or null).
nlohmann::json message_rows_json(const std::vector<MessageRow>& rows);
/// The inverse; nullopt for anything that is not exactly that shape. Never throws.
std::optional<std::vector<MessageRow>> message_rows_from_json(const nlohmann::json& rows);

/// "ID  STATUS  AGE  SIZE  FROM  NEXT HOP  NEXT RETRY", each message followed by its recipients,
/// indented: "ADDRESS  STATUS  NEXT HOP  NEXT RETRY  LAST ERROR". Nothing truncated, control
/// characters escaped. With `nodes` (the fleet view: one per row), a NODE column comes first.
std::string render_message_rows(const std::vector<MessageRow>& rows, std::chrono::system_clock::time_point now,
                                const std::vector<std::string>& nodes = {});

}  // namespace sluice::queue
