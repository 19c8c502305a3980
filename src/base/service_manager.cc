// sd_notify(3) from libsystemd: it finds NOTIFY_SOCKET itself (a path or an abstract socket) and
// returns at once without one. The environment is left in place (unset_environment = 0) because
// the gateway notifies for as long as it runs, not once.
#include "base/service_manager.h"

#include <fmt/format.h>
#include <systemd/sd-daemon.h>

#include <cstdint>
#include <ctime>
#include <string>

namespace sluice {
namespace {

void send_to_service_manager(const std::string& state) { sd_notify(0, state.c_str()); }

std::uint64_t monotonic_microseconds() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000 + static_cast<std::uint64_t>(now.tv_nsec) / 1'000;
}

}  // namespace

void notify_ready() { send_to_service_manager("READY=1"); }

// systemd's reload protocol: RELOADING=1 with the CLOCK_MONOTONIC time it was sent, which
// Type=notify-reload (systemd 253 and later) requires to tell this reload from an earlier one;
// systemd 252 (Debian 12) reads RELOADING=1 and ignores the rest.
void notify_reloading() {
  send_to_service_manager(fmt::format("RELOADING=1\nMONOTONIC_USEC={}", monotonic_microseconds()));
}

void notify_stopping() { send_to_service_manager("STOPPING=1"); }

// One line: a newline would start another assignment in the datagram.
void notify_status(std::string_view status) {
  std::string line(status);
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  send_to_service_manager("STATUS=" + line);
}

std::chrono::microseconds watchdog_interval() {
  std::uint64_t usec = 0;
  // 0 unset_environment; > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID (if any) is us.
  if (sd_watchdog_enabled(0, &usec) <= 0) return std::chrono::microseconds(0);
  return std::chrono::microseconds(usec);
}

void notify_watchdog() { send_to_service_manager("WATCHDOG=1"); }

}  // namespace sluice
