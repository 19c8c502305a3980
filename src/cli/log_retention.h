// The retention of serve's logs: the configuration's [protocol_log] and [message_tracking] limits
// given to one janitor thread (protocol_log/retention.h) for the three directories.
#pragma once
#include "config/config.h"
#include "protocol_log/protocol_log.h"
#include "protocol_log/retention.h"
#include "tracking/tracking_log.h"

namespace sluice::cli {

protocol_log::RetentionLimits retention_limits(const config::LogLimits& limits);

/// Watches the receive and send protocol logs and the tracking log (when there is one) with their
/// configured limits, and starts the janitor's thread (after StopSignals: it blocks no signal).
void start_log_retention(protocol_log::RetentionJanitor& janitor, const config::Config& cfg,
                         protocol_log::Writer& receive_log, protocol_log::Writer& send_log,
                         tracking::TrackingLog* tracking);

}  // namespace sluice::cli
