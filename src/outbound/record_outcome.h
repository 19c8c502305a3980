// How an attempt's outcome changes a message's envelope: each recipient of the job delivered,
// failed (to be bounced) or deferred to its next attempt. Pure: the caller gives the time and
// the retry policy (the scheduler's), and acts on the recipients that failed.
#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "outbound/smtp_client.h"
#include "queue/envelope.h"

namespace sluice::outbound {

using TimePoint = std::chrono::system_clock::time_point;
/// When a deferred recipient is tried next, or nullopt when its lifetime is over (it fails).
using RetryTime = std::function<std::optional<TimePoint>(const queue::Envelope&, const queue::Recipient&)>;

/// The next hop as a whole is unwell: no server of it got as far as a transaction, and none
/// refused the message outright.
bool hop_failed(const AttemptResult& result);

/// What the queue records as a deferred recipient's last error (`reply` is the recipient's), in
/// Exchange's words: the reply itself when no server was reached or the connection failed,
/// else the "Primary target IP address responded with" form.
smtp::Reply last_error(const AttemptResult& result, const smtp::Reply& reply);

/// Records `result` for the envelope's `recipients` (indexes, in the transaction's order) that
/// are still open: attempts and last attempt counted, 2xx after accepted data delivered, 5xx
/// failed, anything else deferred to `retry` (failed when it says the lifetime is over).
/// Returns the indexes that failed now.
std::vector<std::size_t> record_attempt(queue::Envelope& envelope, const std::vector<std::size_t>& recipients,
                                        const AttemptResult& result, TimePoint now, const RetryTime& retry);

/// The same for local delivery: one result per recipient; a failure is its reply: a 5xx fails
/// it, anything else defers (or fails) it. `discard`: the configuration drops local mail,
/// recorded as delivered.
std::vector<std::size_t> record_local(queue::Envelope& envelope, const std::vector<std::size_t>& recipients,
                                      const std::vector<Result<void, smtp::Reply>>& results, bool discard,
                                      TimePoint now, const RetryTime& retry);

/// Fails the open recipients among `recipients` whose lifetime ran out while they waited. One
/// without a reply of its own gets `hop_error` (its hop's last error: what the sender needs to
/// read in the bounce), or "451 4.4.7 Message expired ..." when that is empty too; `hop_error`
/// is asked only then. Returns the indexes that failed.
std::vector<std::size_t> expire_recipients(queue::Envelope& envelope, const std::vector<std::size_t>& recipients,
                                           const std::function<smtp::Reply(const queue::Recipient&)>& hop_error);

/// An administrator removed the message: every open recipient fails, its last error kept in the
/// text. Returns the indexes that failed.
std::vector<std::size_t> remove_recipients(queue::Envelope& envelope);

}  // namespace sluice::outbound
