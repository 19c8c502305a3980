// What both acts of the demo do with the servers they run: wait for an event while watching that
// none of them died (a crash ends the act at once, saying how, instead of a timeout later), and
// stop them as a reader would (kill -TERM), checking that each exits cleanly.
#pragma once
#include <filesystem>
#include <functional>
#include <vector>

#include "demo/interrupt.h"
#include "demo/narrator.h"
#include "demo/process.h"

namespace sluice::demo {

/// The servers of an act; a null entry (one not made yet) is skipped while waiting.
using Servers = std::vector<ServeProcess*>;

/// wait_until `ready()`, but a started server of `servers` that dies meanwhile fails the step
/// at once (Narrator::require: "relay is running (it exited with status 2)").
bool wait_while_serving(Narrator& out, const Servers& servers, const std::function<bool()>& ready, Millis timeout,
                        Millis poll = Millis(100));

/// The messages in the Maildir's new/ once there is one (waiting as wait_while_serving does);
/// none after `timeout`.
std::vector<fs::path> wait_for_mail(Narrator& out, const Servers& servers, const fs::path& maildir, Millis timeout);

/// Stops each server in order, showing the `kill -TERM <pid>` that stands for, and checks that it
/// exited with status 0; with `quote_stopped_lines`, quotes the lines of its stderr that say
/// "stopped" before the check.
void stop_servers(Narrator& out, const Servers& servers, bool quote_stopped_lines);

}  // namespace sluice::demo
