#include "queue/drain_control.h"

#include <fmt/format.h>

#include <string>

#include "queue/envelope.h"

namespace sluice::queue {

namespace {

using Json = nlohmann::json;

Json drain_state_json(const DrainState& state) {
  return {{"ok", true},
          {"draining", state.draining},
          {"messages", state.messages},
          {"sessions", state.sessions},
          {"deadline", state.deadline ? Json(format_utc_time(*state.deadline)) : Json()},
          {"pid", state.pid}};
}

}  // namespace

bool is_drain_request(const Json& request) {
  const std::string command = request.value("command", "");
  return command == "drain" || command == "drain-status";
}

Json drain_answer(const Json& request, DrainControl& node) {
  if (request.value("command", "") == "drain-status") return drain_state_json(node.drain_state());
  std::optional<std::chrono::seconds> deadline;
  if (auto it = request.find("deadline_seconds"); it != request.end()) {
    // Any JSON integer: nlohmann::json reads a literal 5 as signed.
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1 || it->get<std::int64_t>() > kMaxDrainDeadline.count())
      return {{"ok", false},
              {"error", fmt::format("\"deadline_seconds\" must be a whole number of seconds, 1 to {}",
                                    kMaxDrainDeadline.count())}};
    deadline = std::chrono::seconds(it->get<std::int64_t>());
  }
  const bool was_draining = node.drain_state().draining;
  Json answer = drain_state_json(node.drain(deadline));
  answer["was_draining"] = was_draining;
  return answer;
}

std::optional<DrainState> drain_state_from_json(const Json& answer) {
  if (!answer.is_object() || !answer.value("draining", Json()).is_boolean() ||
      !answer.value("messages", Json()).is_number_unsigned() ||
      !answer.value("sessions", Json()).is_number_unsigned() || !answer.value("pid", Json()).is_number_integer() ||
      !answer.contains("deadline"))
    return std::nullopt;
  DrainState state;
  state.draining = answer["draining"].get<bool>();
  state.messages = answer["messages"].get<std::size_t>();
  state.sessions = answer["sessions"].get<std::size_t>();
  state.pid = answer["pid"].get<std::int64_t>();
  const Json& deadline = answer["deadline"];
  if (deadline.is_string()) {
    auto time = parse_utc_time(deadline.get<std::string>());
    if (!time) return std::nullopt;
    state.deadline = *time;
  } else if (!deadline.is_null()) {
    return std::nullopt;
  }
  return state;
}

}  // namespace sluice::queue
