#include "base/service_manager.h"

namespace sluice {

// Issue 17 (systemd packaging) implements these with sd_notify(3); until then the gateway runs
// as Type=simple and nothing is sent.
void notify_ready() {}
void notify_reloading() {}
void notify_stopping() {}
void notify_status(std::string_view) {}

}  // namespace sluice
