// Telling the service manager (systemd, Type=notify) what the gateway is doing: ready once it
// listens, reloading around SIGHUP, stopping on SIGTERM, and a one-line status. Without a service
// manager (no NOTIFY_SOCKET) every call does nothing, so callers need not ask first.
#pragma once
#include <chrono>
#include <string_view>

namespace sluice {

void notify_ready();
/// Before a configuration reload starts; notify_ready() again when it has finished (or failed).
void notify_reloading();
void notify_stopping();
/// "12 sessions, 340 messages queued": shown by `systemctl status`.
void notify_status(std::string_view status);

/// The interval within which the service manager wants notify_watchdog() (WatchdogSec= of the
/// unit, from WATCHDOG_USEC), or zero when it watches nothing.
std::chrono::microseconds watchdog_interval();
/// "Still alive": called from the network thread, so a thread that stops turning stops it.
void notify_watchdog();

}  // namespace sluice
