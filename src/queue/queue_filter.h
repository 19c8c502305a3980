// Which messages, and which of their recipients, a queue viewer command is about: the filters of
// `sluice queue list/retry/remove` (--hop, --domain, --sender, --recipient, --status,
// --older-than), parsed once and sent to the gateway as JSON, so that the gateway filters its
// queue and answers with what matched only (docs/queue.md, "The queue viewer").
#pragma once
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "queue/envelope.h"

namespace sluice::queue {

struct QueueFilter {
  std::string hop;                                 ///< next hop, exactly (lower case)
  std::string domain;                              ///< next hop or recipient domain (lower case)
  std::string sender;                              ///< pattern on the reverse-path ("*" any run; "<>" the null sender)
  std::string recipient;                           ///< pattern on a recipient address
  std::string status;                              ///< a status name as status_name() writes it, or empty
  std::optional<std::chrono::seconds> older_than;  ///< received at least this long ago
  /// Received before this time: set by `retry`/`remove` after a confirmation, so that mail
  /// accepted after the count that was confirmed is never touched.
  std::optional<std::chrono::system_clock::time_point> received_before;

  /// No filter at all: every message.
  bool empty() const;
  /// Whether it looks at recipients (hop, domain or recipient): then only the recipients it
  /// selects are retried and make a message match.
  bool selects_recipients() const { return !hop.empty() || !domain.empty() || !recipient.empty(); }
};

/// "30m", "2h", "1d", "1w", "1d12h", "90s": each unit (w, d, h, m, s) at most once, largest first.
Result<std::chrono::seconds> parse_age(std::string_view text);
/// The status names of the queue viewer: "Active", "Ready", "Retry" (case-insensitive); the
/// canonical spelling.
Result<std::string> parse_status(std::string_view text);
/// Case-insensitive match where "*" is any run of characters (also none); no other wildcard.
bool pattern_match(std::string_view pattern, std::string_view text);

/// The message-level tests (sender, age, received_before), not the status.
bool matches_message(const QueueFilter& filter, const Envelope& envelope, std::chrono::system_clock::time_point now);
/// The recipient-level tests (hop, domain, recipient) on a recipient whose next hop is `hop`.
bool matches_recipient(const QueueFilter& filter, const Recipient& recipient, std::string_view hop);

/// On the control socket: {"hop": .., "domain": .., "sender": .., "recipient": .., "status": ..,
/// "older_than": seconds, "received_before": ISO time}; absent members are no filter.
nlohmann::json filter_json(const QueueFilter& filter);
/// The inverse; an error naming the member that is wrong (wrong type, unknown status, unknown member).
Result<QueueFilter> filter_from_json(const nlohmann::json& json);

}  // namespace sluice::queue
