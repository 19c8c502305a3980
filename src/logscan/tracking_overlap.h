// When protocol logs and message tracking logs of the same server are scanned together, both
// record the same messages; this decides what tracking adds (docs/logscan.md, "Protocol and
// tracking logs together").
#pragma once
#include "logscan/aggregate.h"

namespace sluice::logscan {

/// Adds message tracking's messages, names and failures (tracked_peers, tracked_failures) to the
/// peers and failures, except those of a direction and connector in an hour that the protocol
/// logs read cover (from the hour of its first session to the hour after its last): the protocol
/// log counted those messages already, and its failure lines are the same failures. Those are
/// counted in tracked_messages_in_protocol_log and
/// tracked_failures_in_protocol_log. Call once, after every input is merged.
void fold_tracking(Aggregate& a);

}  // namespace sluice::logscan
