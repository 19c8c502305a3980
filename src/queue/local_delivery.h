// Delivery of committed messages to local mailboxes (Maildir), the gateway's only delivery
// until the outbound side exists; messages for other domains stay queued.
#pragma once
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "queue/maildir.h"
#include "queue/spool.h"

namespace sluice::queue {

class LocalDelivery {
 public:
  /// `is_local(domain_key)` says whether a lower-cased domain is delivered here.
  LocalDelivery(Spool& spool, MaildirStore& maildirs, std::function<bool(std::string_view)> is_local);

  /// Delivers the pending local recipients of message `id`, records each result in the
  /// envelope, and removes the message from the spool once no recipient is pending or deferred.
  /// Safe to call from several threads for different ids.
  void deliver(const std::string& id);
  /// Delivers every pending local recipient in the spool (after a restart); returns the number
  /// of messages looked at.
  std::size_t deliver_all();

 private:
  /// Ids being delivered right now: a message handed over at its 250 may also be picked up by
  /// deliver_all() after a restart; only one thread may deliver it.
  bool claim(const std::string& id);
  void release(const std::string& id);
  void deliver_claimed(const std::string& id);

  std::mutex mutex_;
  std::set<std::string> in_progress_;
  Spool& spool_;
  MaildirStore& maildirs_;
  std::function<bool(std::string_view)> is_local_;
};

/// Splits "local@domain" at the last '@' (a quoted local part may contain '@').
std::pair<std::string, std::string> split_address(std::string_view address);

}  // namespace sluice::queue
