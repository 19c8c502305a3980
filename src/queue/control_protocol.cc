#include "queue/control_protocol.h"

#include <fmt/format.h>

#include "base/text.h"

namespace sluice::queue {

namespace {

nlohmann::json error(const std::string& text) { return {{"ok", false}, {"error", text}}; }
nlohmann::json no_message(const std::string& id) { return error("no message " + id + " in the queue"); }

}  // namespace

nlohmann::json control_answer(const nlohmann::json& request, QueueControl& queue) {
  std::string command = request.value("command", "");
  const auto loading = queue.loading();
  const auto now = queue.now();
  if (command == "list") {
    ViewFilter filter{request.value("domain", ""), request.value("status", "")};
    auto rows = hop_rows(queue.envelopes(), filter, queue.hops(), now);
    nlohmann::json answer = {{"ok", true}, {"hops", hop_rows_json(rows)}, {"now", format_utc_time(now)}};
    // Right after a restart the picture is not complete yet: say so.
    if (loading.total) answer["loading"] = {{"read", loading.read}, {"total", loading.total}};
    return answer;
  }
  std::string id = request.value("id", "");
  // Until the spool is read, a message may exist that the engine does not know yet: changing the
  // queue, or saying that a message is not there, would be wrong. The wait is seconds.
  if (loading.total && (command == "show" || command == "retry" || command == "remove")) {
    bool known = command == "show" && queue.find(id);
    if (!known)
      return error(
          fmt::format("the gateway is still reading its spool after a restart ({} of {} messages); "
                      "try again in a moment",
                      loading.read, loading.total));
  }
  if (command == "show") {
    const auto* envelope = queue.find(id);
    if (!envelope) return no_message(id);
    return {{"ok", true}, {"message", message_json(*envelope)}};
  }
  if (command == "retry") {
    if (!id.empty() && !queue.find(id)) return no_message(id);
    return {{"ok", true}, {"retried", queue.retry(id, ascii_lower(request.value("domain", "")))}};
  }
  if (command == "remove") {
    if (!queue.find(id)) return no_message(id);
    queue.remove(id, request.value("bounce", false));
    return {{"ok", true}};
  }
  return error("unknown command \"" + command + "\"");
}

}  // namespace sluice::queue
