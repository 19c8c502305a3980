// The queue viewer's picture of the queue, as Exchange's Queue Viewer shows it: one row per next
// hop (status, message count, last error, next retry), and one message in detail. Pure functions
// over envelopes, so `sluice queue` can show the same whether it asks the running gateway or
// reads the spool of a stopped one.
#pragma once
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "queue/envelope.h"
#include "queue/queue_filter.h"
#include "queue/queue_status.h"
#include "queue/view_format.h"

namespace sluice::queue {

struct HopRow {
  std::string next_hop;      ///< "partner.example", "[10.0.0.5]:25", "local"
  std::string status;        ///< "Active", "Ready" or "Retry" (queue_status.h)
  std::size_t messages = 0;  ///< messages with a recipient pending or deferred for this hop
  std::string last_error;    ///< most recent last_reply among them
  std::optional<std::chrono::system_clock::time_point> next_retry;  ///< exactly when status is "Retry"
  /// For the fleet view (fleet_view.h), which merges rows of several nodes: when the oldest of the
  /// messages arrived, and when the attempt that answered last_error was made (unset: none).
  std::optional<std::chrono::system_clock::time_point> oldest;
  std::optional<std::chrono::system_clock::time_point> last_error_at;
};

/// Hop rows sorted by next hop, of the messages and recipients `filter` selects (its status
/// applies to the hop's status). Status and next retry follow the rule of queue_status.h; `live`
/// has the gateway's hop states (running deliveries, backoff; empty for a spool on disk).
std::vector<HopRow> hop_rows(const std::vector<const Envelope*>& envelopes, const QueueFilter& filter,
                             const LiveHops& live, std::chrono::system_clock::time_point now);
std::vector<HopRow> hop_rows(const std::vector<Envelope>& envelopes, const QueueFilter& filter, const LiveHops& live,
                             std::chrono::system_clock::time_point now);

/// JSON forms (documented in docs/queue.md, stable for scripts). Hop rows: an array of
/// {"next_hop","status","messages","last_error","next_retry","oldest","last_error_at"} (times ISO-8601
/// UTC or null; the last two are optional when read, as older gateways do not send them).
/// A message: {"id","from","received","size","body_type","smtputf8","connector",
/// "client":{"address","helo"},"tls":{"version","cipher"} or null,"recipients":[{"address",
/// "state","attempts","next_hop","last_reply","next_attempt","last_attempt"}]} (times ISO or null;
/// next_hop as recipient_hop() gives it).
nlohmann::json hop_rows_json(const std::vector<HopRow>& rows);
nlohmann::json message_json(const Envelope& envelope);
/// The inverses, for `sluice queue` rendering what the gateway sent; nullopt for anything that
/// is not exactly that shape. Never throw.
std::optional<std::vector<HopRow>> hop_rows_from_json(const nlohmann::json& rows);
std::optional<Envelope> message_from_json(const nlohmann::json& message);

/// Readable tables: "NEXT HOP  STATUS  MESSAGES  NEXT RETRY  LAST ERROR" and a message's detail.
/// Nothing is truncated (the last error is the point); control characters from a peer's reply
/// are shown as "\xNN" so they cannot drive the operator's terminal.
std::string render_hop_rows(const std::vector<HopRow>& rows, std::chrono::system_clock::time_point now);
std::string render_message(const Envelope& envelope, std::chrono::system_clock::time_point now);

}  // namespace sluice::queue
