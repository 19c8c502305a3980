#include "queue/control_protocol.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "queue/message_rows.h"
#include "queue/queue_view.h"

namespace sluice::queue {

namespace {

using Json = nlohmann::json;

Json error(const std::string& text) { return {{"ok", false}, {"error", text}}; }
Json no_message(const std::string& id) { return error("no message " + id + " in the queue"); }

Json with_loading(Json answer, const QueueControl::Loading& loading) {
  // Right after a restart the picture is not complete yet: say so.
  if (loading.total) answer["loading"] = {{"read", loading.read}, {"total", loading.total}};
  return answer;
}

/// The request's "filter" (absent: none).
Result<QueueFilter> request_filter(const Json& request) {
  auto it = request.find("filter");
  if (it == request.end()) return QueueFilter{};
  return filter_from_json(*it);
}

/// One page of the matching messages, oldest first, after the cursor {"received", "id"}.
Json messages_answer(const Json& request, QueueControl& queue, const QueueFilter& filter) {
  const auto now = queue.now();
  std::size_t limit = kMessagesPerPage;
  if (auto it = request.find("limit"); it != request.end()) {
    // Any JSON integer: nlohmann::json reads a literal 5 as signed.
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1 ||
        it->get<std::int64_t>() > static_cast<std::int64_t>(kMaxMessagesPerPage))
      return error(fmt::format("\"limit\" must be 1 to {}", kMaxMessagesPerPage));
    limit = static_cast<std::size_t>(it->get<std::int64_t>());
  }
  const LiveHops live = queue.hops();
  auto matches = matching_messages(queue.envelopes(), filter, live, now);
  const std::size_t total = matches.size();
  if (auto after = request.find("after"); after != request.end()) {
    std::chrono::system_clock::time_point received;
    if (!after->is_object() || !after->contains("received") || !after->contains("id") || !(*after)["id"].is_string() ||
        !(*after)["received"].is_string())
      return error("\"after\" must be {\"received\": time, \"id\": id}");
    auto time = parse_utc_time((*after)["received"].get<std::string>());
    if (!time) return error("\"after\" must be {\"received\": time, \"id\": id}");
    received = *time;
    const std::string& id = (*after)["id"].get_ref<const std::string&>();
    const std::pair<std::chrono::system_clock::time_point, std::string_view> cursor{received, id};
    std::erase_if(matches, [&](const MessageMatch& m) { return age_key(*m.envelope) <= cursor; });
  }
  const std::size_t shown = std::min(limit, matches.size());
  std::partial_sort(matches.begin(), matches.begin() + static_cast<std::ptrdiff_t>(shown), matches.end(), older);
  std::vector<MessageRow> rows;
  rows.reserve(shown);
  for (std::size_t i = 0; i < shown; ++i) rows.push_back(message_row(matches[i], live, now));
  return with_loading({{"ok", true},
                       {"now", format_utc_time(now)},
                       {"total", total},
                       {"more", matches.size() > shown},
                       {"messages", message_rows_json(rows)}},
                      queue.loading());
}

/// Which messages a retry or remove is about: "id", "filter" or "all": true, exactly one.
struct Target {
  std::vector<std::string> ids;
  QueueFilter filter;
  bool all = false;
};

Result<Target> change_target(const Json& request, QueueControl& queue) {
  const bool by_id = request.contains("id"), by_filter = request.contains("filter"), all = request.value("all", false);
  if (by_id + by_filter + all != 1) return fail("say which messages: \"id\", \"filter\" or \"all\": true");
  Target target;
  target.all = all;
  if (by_id) {
    std::string id = request.value("id", "");
    if (!queue.find(id)) return fail("no message " + id + " in the queue");
    target.ids.push_back(std::move(id));
    return target;
  }
  if (by_filter) {
    auto filter = request_filter(request);
    if (!filter) return fail(filter.error());
    if (filter->empty()) return fail("an empty \"filter\" would take every message: say \"all\": true");
    target.filter = std::move(*filter);
  }
  for (const auto& match : matching_messages(queue.envelopes(), target.filter, queue.hops(), queue.now()))
    target.ids.push_back(match.envelope->id);
  return target;
}

}  // namespace

Json control_answer(const Json& request, QueueControl& queue) {
  std::string command = request.value("command", "");
  const auto loading = queue.loading();
  if (command == "list" || command == "messages") {
    auto filter = request_filter(request);
    if (!filter) return error(filter.error().message);
    if (command == "messages") return messages_answer(request, queue, *filter);
    const auto now = queue.now();
    auto rows = hop_rows(queue.envelopes(), *filter, queue.hops(), now);
    return with_loading({{"ok", true}, {"hops", hop_rows_json(rows)}, {"now", format_utc_time(now)}}, loading);
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
  if (command == "retry" || command == "remove") {
    auto target = change_target(request, queue);
    if (!target) return error(target.error().message);
    if (command == "retry") return {{"ok", true}, {"retried", queue.retry(target->ids, target->filter, target->all)}};
    const bool bounce = request.value("bounce", false);
    for (const auto& each : target->ids) queue.remove(each, bounce);
    return {{"ok", true}, {"removed", target->ids.size()}};
  }
  return error("unknown command \"" + command + "\"");
}

}  // namespace sluice::queue
