// What the gateway records in the message tracking log for each step of a message
// (docs/message-tracking.md): RECEIVE, SEND, DELIVER, DEFER, FAIL and DSN records built from
// the envelopes the gateway already keeps. Pure: the writing is TrackingLog's.
#pragma once
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "queue/dsn.h"
#include "queue/envelope.h"
#include "tracking/record.h"

namespace sluice::tracking {

/// Where a delivery attempt went: the send connector and the server that answered, or the local
/// mailboxes.
struct Hop {
  bool local = false;            ///< local delivery into the Maildirs
  std::string connector{};       ///< the send connector's name
  std::string host{};            ///< the MX or smart host name tried last
  std::string endpoint{};        ///< "192.0.2.1:25" of that server; empty when none was reached
  std::string local_endpoint{};  ///< our side of the connection
  std::string tls_version{};     ///< "TLS1_2"; empty without TLS
  std::string tls_cipher{};
};

/// Who writes: our hostname (server-hostname of inbound records, client-hostname of outbound ones).
struct Origin {
  std::string hostname;
};

/// The remote's id for the message from its 250 reply to DATA: Postfix's "queued as ABC123",
/// Exchange's "[InternalId=123...]", Exim's "id=1abc-000", sluice's "<ID> Queued mail for
/// delivery"; empty when the reply names none.
std::string queued_as(std::string_view reply);

/// "192.0.2.1" of "192.0.2.1:25", "2001:db8::1" of "[2001:db8::1]:25".
std::string endpoint_address(std::string_view endpoint);

/// The RECEIVE record of a message just acknowledged with 250: `local_endpoint` is the address
/// the client connected to, `session_id` the protocol log's session (source-context, as Exchange).
Record receive_record(const Origin& origin, const queue::Envelope& envelope, std::string_view local_endpoint,
                      std::string_view session_id, std::chrono::system_clock::time_point now);

/// The records of what changed between `before` and `after`: recipients newly delivered (SEND,
/// or DELIVER for a local hop), failed (FAIL, also for an expired lifetime or a removal) or
/// deferred by another attempt (DEFER). One record per event and status, listing its
/// recipients. Without `before` (a message the engine takes over: new, or read back from the
/// spool after a restart, when its settled recipients were recorded by the run before), only the
/// recipients in `newly_failed` are new. `hop` is the attempt's; nullptr when no attempt was made
/// (expiry, removal, unroutable).
std::vector<Record> outcome_records(const Origin& origin, const queue::Envelope* before, const queue::Envelope& after,
                                    const std::vector<std::size_t>& newly_failed, const Hop* hop,
                                    std::chrono::system_clock::time_point now);

/// The DSN record: notification `dsn` (a bounce, or a delay warning) generated for `original`
/// about `rows`; linked to the original by reference (its Message-ID) and by
/// custom-data S:OriginalInternalId (its queue id).
Record dsn_record(const Origin& origin, const queue::Envelope& original, const queue::Envelope& dsn,
                  const std::vector<queue::DsnRecipient>& rows, bool delay_warning,
                  std::chrono::system_clock::time_point now);

/// The MOVE record of `sluice queue move`: `recipients` of `envelope` handed to the node at
/// `destination` ("host:port"), whose 250 `reply` named its queue id (custom-data RemoteQueueId).
Record move_record(const Origin& origin, const queue::Envelope& envelope, const std::vector<std::string>& recipients,
                   const Hop& hop, std::string_view reply, std::chrono::system_clock::time_point now);

/// The custom-data keys sluice writes.
inline constexpr std::string_view kTlsVersionKey = "version";  ///< as in Exchange's Received header: "version=TLS1_2"
inline constexpr std::string_view kTlsCipherKey = "cipher";
inline constexpr std::string_view kQueuedAsKey = "RemoteQueueId";
inline constexpr std::string_view kOriginalKey = "OriginalInternalId";
inline constexpr std::string_view kOriginalSenderKey = "OriginalSender";  ///< MAIL FROM before rewrite_senders
inline constexpr std::string_view kMovedFromKey = "MovedFrom";  ///< RECEIVE of a moved message: its id on the source

}  // namespace sluice::tracking
