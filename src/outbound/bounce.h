// The notifications the engine sends a message's sender: a bounce for recipients that failed,
// a delay warning for those still waiting (RFC 3464, queue/dsn). Building one reads the
// original message, so it runs on the disk executor, in order with the envelope writes.
#pragma once
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "base/result.h"
#include "queue/dsn.h"
#include "queue/envelope.h"
#include "queue/spool.h"

namespace sluice::outbound {

/// One DSN row per recipient index: its last reply as the diagnostic, its enhanced code as the
/// status (4.4.7 for a recipient that failed without a 5xx: its lifetime ran out).
std::vector<queue::DsnRecipient> dsn_rows(const queue::Envelope& original, const std::vector<std::size_t>& recipients,
                                          const std::string& remote_host, bool delay_warning);

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

}  // namespace sluice::outbound
