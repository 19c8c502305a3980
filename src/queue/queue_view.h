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

namespace sluice::queue {

struct HopRow {
  std::string next_hop;      ///< "partner.example", "[10.0.0.5]:25", "local"
  std::string status;        ///< "Ready" (due now), "Retry" (waiting after a failure), "Active" (being delivered)
  std::size_t messages = 0;  ///< messages with a recipient pending or deferred for this hop
  std::string last_error;    ///< most recent last_reply among them
  std::optional<std::chrono::system_clock::time_point> next_retry;
};

struct ViewFilter {
  std::string domain;  ///< only recipients whose next hop or domain is this (case-insensitive)
  std::string status;  ///< only hops with this status: "Ready", "Retry", "Active" (case-insensitive)
};

/// What the running gateway knows of a next hop beyond its envelopes.
struct HopLive {
  std::size_t running = 0;                                ///< deliveries in progress
  std::chrono::system_clock::time_point blocked_until{};  ///< its backoff after failures
  std::string last_error;                                 ///< of its last failed attempt
};

/// Hop rows sorted by next hop. `live` has the gateway's hop states: a hop with running
/// deliveries is "Active"; a hop in backoff is "Retry" until its backoff ends, whatever its
/// messages' own times say, since none of them is tried before.
std::vector<HopRow> hop_rows(const std::vector<const Envelope*>& envelopes, const ViewFilter& filter,
                             const std::map<std::string, HopLive>& live, std::chrono::system_clock::time_point now);
std::vector<HopRow> hop_rows(const std::vector<Envelope>& envelopes, const ViewFilter& filter,
                             const std::map<std::string, HopLive>& live, std::chrono::system_clock::time_point now);

/// JSON forms (documented in docs/queue.md, stable for scripts). Hop rows: an array of
/// {"next_hop","status","messages","last_error","next_retry"} (next_retry ISO-8601 UTC or null).
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

/// "in 4m 10s", "2h 5m ago", "now": `when` relative to `now`, two units at most.
std::string relative_time(std::chrono::system_clock::time_point when, std::chrono::system_clock::time_point now);

/// Readable tables: "NEXT HOP  STATUS  MESSAGES  NEXT RETRY  LAST ERROR" and a message's detail.
/// Nothing is truncated (the last error is the point); control characters from a peer's reply
/// are shown as "\xNN" so they cannot drive the operator's terminal.
std::string render_hop_rows(const std::vector<HopRow>& rows, std::chrono::system_clock::time_point now);
std::string render_message(const Envelope& envelope, std::chrono::system_clock::time_point now);

}  // namespace sluice::queue
