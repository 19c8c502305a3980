// Local delivery: a spooled message into the Maildirs of its local recipients.
#pragma once
#include <string>
#include <vector>

#include "base/result.h"
#include "queue/maildir.h"
#include "queue/spool.h"

namespace sluice::outbound {

/// Delivers message `id` from the spool to each address's mailbox (its local part). One result
/// per address, in order. Blocking (Maildir writes fsync): run it on the disk executor.
std::vector<Result<void>> deliver_locally(const queue::Spool& spool, queue::MaildirStore& maildirs,
                                          const std::string& id, const std::vector<std::string>& addresses);

}  // namespace sluice::outbound
