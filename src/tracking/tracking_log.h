// The message tracking log the gateway writes (docs/message-tracking.md): MSGTRK<yyyymmddhh>-<n>.LOG
// files in Exchange's format, rolled like the protocol log. Each hook is one call from where the
// event happens (inbound session, delivery engine). Writing never stops mail: a line that cannot
// be written is dropped, counted and reported on stderr (protocol_log::Writer).
#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "protocol_log/protocol_log.h"
#include "queue/dsn.h"
#include "queue/envelope.h"
#include "tracking/events.h"

namespace sluice::tracking {

class TrackingLog {
 public:
  /// Thread-safe: sessions and the delivery engine write from the network thread, notifications
  /// from the disk executor.
  TrackingLog(std::filesystem::path dir, std::string hostname, std::uint64_t max_file_bytes);

  /// RECEIVE: the message was acknowledged with 250.
  void received(const queue::Envelope& envelope, std::string_view local_endpoint, std::string_view session_id);
  /// SEND, DELIVER, DEFER, FAIL: what changed from `before` to `after` (outcome_records(): without
  /// `before`, the recipients in `newly_failed`); `hop` is the attempt's, nullptr when there was
  /// none (expiry, removal, unroutable).
  void changed(const queue::Envelope* before, const queue::Envelope& after,
               const std::vector<std::size_t>& newly_failed, const Hop* hop);
  /// DSN: a bounce or delay warning `dsn` was queued for `original`.
  void notified(const queue::Envelope& original, const queue::Envelope& dsn,
                const std::vector<queue::DsnRecipient>& rows, bool delay_warning);

  /// MOVE: `recipients` of `envelope` went to another node (`sluice queue move`), which said `reply`.
  void moved(const queue::Envelope& envelope, const std::vector<std::string>& recipients, const Hop& hop,
             std::string_view reply);

  /// Records dropped because they could not be written.
  std::uint64_t failed_writes() const { return writer_.dropped(); }
  const std::filesystem::path& dir() const { return dir_; }
  /// For retention (protocol_log/retention.h), which keeps the tracking directory as the protocol logs'.
  protocol_log::Writer& writer() { return writer_; }

 private:
  void write(const Record& record);
  std::filesystem::path dir_;
  Origin origin_;
  protocol_log::Writer writer_;
};

}  // namespace sluice::tracking
