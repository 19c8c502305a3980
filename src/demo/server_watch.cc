#include "demo/server_watch.h"

#include <fmt/format.h>

#include "demo/files.h"
#include "demo/protocol_log_reader.h"
#include "demo/text.h"

namespace sluice::demo {

bool wait_while_serving(Narrator& out, const Servers& servers, const std::function<bool()>& ready, Millis timeout,
                        Millis poll) {
  return wait_until(
      [&] {
        if (ready()) return true;
        for (auto* server : servers)
          if (server && server->running() && !server->alive())
            out.require(false, fmt::format("{} is running (it {})", server->name(), server->exit_description()));
        return false;
      },
      timeout, poll);
}

std::vector<fs::path> wait_for_mail(Narrator& out, const Servers& servers, const fs::path& maildir, Millis timeout) {
  std::vector<fs::path> files;
  wait_while_serving(
      out, servers,
      [&] {
        files = maildir_new(maildir);
        return !files.empty();
      },
      timeout);
  return files;
}

void stop_servers(Narrator& out, const Servers& servers, bool quote_stopped_lines) {
  for (auto* server : servers) {
    out.command("kill -TERM " + std::to_string(server->pid()) + "   # stop " + server->name());
    auto status = server->stop(Millis(30000));
    if (quote_stopped_lines) out.quote(grep(lines_of(server->log_of_this_run()), "stopped"));
    out.check(status && *status == 0, server->name() + " stopped cleanly (exit status 0)");
  }
}

}  // namespace sluice::demo
