#include "tracking/tracking_log.h"

namespace sluice::tracking {

using std::chrono::system_clock;

TrackingLog::TrackingLog(std::filesystem::path dir, std::string hostname, std::uint64_t max_file_bytes)
    : dir_(dir), origin_{std::move(hostname)}, writer_(std::move(dir), file_kind(), max_file_bytes) {}

void TrackingLog::write(const Record& record) { writer_.write_text(record.time, format_record(record)); }

void TrackingLog::received(const queue::Envelope& envelope, std::string_view local_endpoint,
                           std::string_view session_id) {
  write(receive_record(origin_, envelope, local_endpoint, session_id, system_clock::now()));
}

void TrackingLog::moved(const queue::Envelope& envelope, const std::vector<std::string>& recipients, const Hop& hop,
                        std::string_view reply) {
  write(move_record(origin_, envelope, recipients, hop, reply, system_clock::now()));
}

void TrackingLog::changed(const queue::Envelope* before, const queue::Envelope& after,
                          const std::vector<std::size_t>& newly_failed, const Hop* hop) {
  for (const auto& record : outcome_records(origin_, before, after, newly_failed, hop, system_clock::now()))
    write(record);
}

void TrackingLog::notified(const queue::Envelope& original, const queue::Envelope& dsn,
                           const std::vector<queue::DsnRecipient>& rows, bool delay_warning) {
  write(dsn_record(origin_, original, dsn, rows, delay_warning, system_clock::now()));
}

}  // namespace sluice::tracking
