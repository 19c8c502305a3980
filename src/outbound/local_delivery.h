// Local delivery: a spooled message into the Maildirs of its local recipients.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "base/result.h"
#include "queue/maildir.h"
#include "queue/spool.h"
#include "smtp/reply.h"

namespace sluice::outbound {

/// Delivers message `id` from the spool to each address's mailbox (its local part). One result
/// per address, in order; a failure is the recipient's reply: "451 4.3.0 Local delivery failed:
/// <reason>" (deferred), or "554 5.4.14 Hop count exceeded - possible mail loop" for every
/// address when the message's Received: and Delivered-To: fields, as it arrived (the spooled copy
/// less the Received: field this gateway added), exceed `max_hop_count` (queue/hop_count.h).
/// Blocking (Maildir writes fsync): run it on the disk executor.
std::vector<Result<void, smtp::Reply>> deliver_locally(const queue::Spool& spool, queue::MaildirStore& maildirs,
                                                       const std::string& id, const std::vector<std::string>& addresses,
                                                       std::size_t max_hop_count);

}  // namespace sluice::outbound
