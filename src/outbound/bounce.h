// The notifications the engine sends a message's sender: a bounce for recipients that failed,
// a delay warning for those still waiting (RFC 3464, queue/dsn). A notice is first decided and
// kept in the message's envelope (Envelope::pending_notices), then queued as a message of its
// own; the original leaves the spool only once every notice it owes is queued, so a spool that
// cannot take the DSN (full, read-only) delays it and never loses it (docs/queue.md, "Pending
// notices"). Queuing reads the original message, so it runs on the disk executor, in order with
// the envelope writes.
#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "queue/dsn.h"
#include "queue/envelope.h"
#include "queue/spool.h"

namespace sluice::outbound {

/// The notice for `recipients` (indexes into original.recipients) under a new queue id: one row
/// per recipient, its last reply as the diagnostic, its enhanced code as the status (4.4.7 for a
/// recipient that failed without a 5xx: its lifetime ran out). To bounce recipients, fail them
/// with their reply as last_reply and hand them to the engine as newly failed
/// (DeliveryEngine::commit): it decides the notice this way.
queue::PendingNotice decide_notice(const queue::Envelope& original, const std::vector<std::size_t>& recipients,
                                   const std::string& remote_host, bool delay_warning);

/// The DSN rows of a notice, for queue::build_dsn.
std::vector<queue::DsnRecipient> dsn_rows(const queue::Envelope& original, const queue::PendingNotice& notice);

struct Notification {
  std::string id;  ///< the new message's queue id
  const queue::Envelope* original = nullptr;
  std::vector<queue::DsnRecipient> rows;
  std::string reporting_mta;  ///< our hostname
  bool delay_warning = false;
  std::chrono::system_clock::time_point retry_until{};  ///< the original's received + lifetime
  std::chrono::system_clock::time_point now{};
};

/// Builds the DSN and stores it in the spool as a new message; returns its envelope, to be
/// queued. Blocking. The error says what failed (build or store), for the log.
Result<queue::Envelope> store_notification(queue::Spool& spool, const Notification& notification);

struct NoticeSettings {
  std::string reporting_mta;  ///< our hostname
  std::chrono::seconds lifetime{};
  std::chrono::system_clock::time_point now{};
  /// Called for each DSN queued (for the tracking log); may be empty.
  std::function<void(const queue::Envelope& dsn, const std::vector<queue::DsnRecipient>& rows, bool delay_warning)>
      on_queued;
};

struct NoticesOutcome {
  std::vector<queue::Envelope> queued;  ///< the DSNs now in the spool, to be delivered
  std::vector<std::string> resolved;    ///< ids of the notices queued or no longer needed
  bool removed = false;                 ///< the original left the spool: nothing waits, nothing is owed
};

/// Blocking (the disk executor, in order with the envelope writes). Queues each of the envelope's
/// pending notices that it can; one that fails stays pending (logged). A delay warning is queued
/// without the rows whose recipient no longer waits, and dropped when none is left. A notice
/// whose id is in `already_queued` (queued by an earlier call whose outcome is not applied yet)
/// or already in the spool (queued before a crash) counts as queued, so none goes out twice;
/// those this call queues are added to it. Then the original is removed when no recipient waits
/// and nothing is owed, else its envelope rewritten with what is still pending (when
/// `envelope_changed` or a notice was resolved).
NoticesOutcome queue_pending_notices(queue::Spool& spool, queue::Envelope envelope, bool envelope_changed,
                                     const NoticeSettings& settings, std::set<std::string>& already_queued);

}  // namespace sluice::outbound
