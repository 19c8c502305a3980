#include "cli/log_retention.h"

namespace sluice::cli {

protocol_log::RetentionLimits retention_limits(const config::LogLimits& limits) {
  return {.max_age = limits.max_age, .max_directory_bytes = limits.max_directory_size};
}

void start_log_retention(protocol_log::RetentionJanitor& janitor, const config::Config& cfg,
                         protocol_log::Writer& receive_log, protocol_log::Writer& send_log,
                         tracking::TrackingLog* tracking) {
  janitor.watch(receive_log, retention_limits(cfg.protocol_log.receive));
  janitor.watch(send_log, retention_limits(cfg.protocol_log.send));
  if (tracking != nullptr) janitor.watch(tracking->writer(), retention_limits(cfg.message_tracking.limits));
  janitor.start();
}

}  // namespace sluice::cli
