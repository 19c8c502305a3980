#include "queue/fleet_view.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "queue/envelope.h"
#include "queue/queue_status.h"
#include "queue/view_format.h"

namespace sluice::queue {

using std::chrono::system_clock;
using TimePoint = system_clock::time_point;
using Json = nlohmann::json;

namespace {

/// The status constant a node's row names, so that combine() can rank it; "" for anything else.
std::string_view known_status(const std::string& status) {
  for (std::string_view s : {kActive, kReady, kRetry})
    if (status == s) return s;
  return {};
}

}  // namespace

void read_node_answer(const Json& output, bool messages, NodeAnswer& answer) {
  auto fail = [&](std::string_view what) {
    answer.error = fmt::format("its answer is not `sluice queue list --json` output ({})", what);
  };
  if (!output.is_object()) return fail("not an object");
  if (output.value("fleet", false)) return fail("a fleet view: list each node once");
  auto source = output.find("source");
  if (source == output.end() || !source->is_string()) return fail("no \"source\"");
  answer.source = source->get<std::string>();
  auto now = output.find("now");
  auto parsed_now = now != output.end() && now->is_string() ? parse_utc_time(now->get<std::string>()) : std::nullopt;
  if (!parsed_now) return fail("no valid \"now\"");
  answer.now = *parsed_now;
  if (auto loading = output.find("loading"); loading != output.end() && loading->is_object()) answer.loading = *loading;
  if (messages) {
    auto rows = output.contains("messages") ? message_rows_from_json(output["messages"]) : std::nullopt;
    std::uint64_t total = 0;
    if (!rows || !output.contains("total") || !count_from_json(output["total"], total))
      return fail("no valid \"messages\" and \"total\"");
    answer.messages = std::move(*rows);
    answer.total = static_cast<std::size_t>(total);
  } else {
    auto rows = output.contains("hops") ? hop_rows_from_json(output["hops"]) : std::nullopt;
    if (!rows) return fail("no valid \"hops\"");
    answer.hops = std::move(*rows);
  }
}

std::vector<FleetHopRow> merge_hops(const std::vector<NodeAnswer>& nodes) {
  struct Accumulator {
    FleetHopRow row;
    Standing standing;
    std::optional<TimePoint> error_at;
  };
  std::map<std::string, Accumulator> hops;
  for (const auto& node : nodes) {
    if (!node.error.empty()) continue;
    for (const auto& hop : node.hops) {
      auto& acc = hops[hop.next_hop];
      acc.row.next_hop = hop.next_hop;
      acc.row.messages += hop.messages;
      acc.row.nodes[node.node] += hop.messages;
      if (std::string_view status = known_status(hop.status); !status.empty())
        combine(acc.standing, {status, status == kRetry ? hop.next_retry : std::nullopt});
      if (hop.oldest && (!acc.row.oldest || *hop.oldest < *acc.row.oldest)) acc.row.oldest = hop.oldest;
      // The latest attempt's reply wins; a reply without its time (an older gateway) only when
      // there is no other.
      if (!hop.last_error.empty() && (acc.row.last_error.empty() ||
                                      (hop.last_error_at && (!acc.error_at || *hop.last_error_at > *acc.error_at)))) {
        acc.row.last_error = hop.last_error;
        acc.row.last_error_node = node.node;
        acc.error_at = hop.last_error_at;
      }
    }
  }
  std::vector<FleetHopRow> rows;
  for (auto& [hop, acc] : hops) {
    acc.row.status = std::string(acc.standing.status);
    acc.row.next_retry = acc.standing.next_retry;
    rows.push_back(std::move(acc.row));
  }
  return rows;
}

std::vector<FleetMessageRow> merge_messages(const std::vector<NodeAnswer>& nodes, std::size_t limit) {
  std::vector<FleetMessageRow> rows;
  for (const auto& node : nodes)
    if (node.error.empty())
      for (const auto& row : node.messages) rows.push_back({node.node, row});
  auto key = [](const FleetMessageRow& r) { return std::tie(r.row.received, r.node, r.row.id); };
  std::sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
  if (limit != 0 && rows.size() > limit) rows.resize(limit);
  return rows;
}

Json nodes_json(const std::vector<NodeAnswer>& nodes) {
  Json out = Json::array();
  for (const auto& node : nodes) {
    if (!node.error.empty())
      out.push_back({{"node", node.node}, {"error", node.error}});
    else
      out.push_back({{"node", node.node}, {"source", node.source}, {"now", format_utc_time(node.now)}});
    if (!node.loading.is_null()) out.back()["loading"] = node.loading;
  }
  return out;
}

Json fleet_hops_json(const std::vector<FleetHopRow>& rows, const std::vector<NodeAnswer>& nodes, TimePoint now) {
  Json hops = Json::array();
  for (const auto& row : rows) {
    Json per_node = Json::object();
    for (const auto& [node, messages] : row.nodes) per_node[node] = messages;
    hops.push_back({{"next_hop", row.next_hop},
                    {"status", row.status},
                    {"messages", row.messages},
                    {"nodes", std::move(per_node)},
                    {"next_retry", optional_time_json(row.next_retry)},
                    {"oldest", optional_time_json(row.oldest)},
                    {"last_error", row.last_error},
                    {"last_error_node", row.last_error_node}});
  }
  return {{"fleet", true}, {"now", format_utc_time(now)}, {"nodes", nodes_json(nodes)}, {"hops", std::move(hops)}};
}

Json fleet_messages_json(const std::vector<FleetMessageRow>& rows, const std::vector<NodeAnswer>& nodes,
                         TimePoint now) {
  std::size_t total = 0;
  for (const auto& node : nodes) total += node.total;
  Json messages = Json::array();
  for (const auto& row : rows) {
    Json entry = message_rows_json({row.row})[0];
    entry["node"] = row.node;
    messages.push_back(std::move(entry));
  }
  return {{"fleet", true},
          {"now", format_utc_time(now)},
          {"nodes", nodes_json(nodes)},
          {"total", total},
          {"messages", std::move(messages)}};
}

std::string render_fleet_hops(const std::vector<FleetHopRow>& rows, TimePoint now) {
  if (rows.empty()) return "No queued messages.\n";
  using Cells = std::vector<std::string>;
  std::vector<Cells> lines{{"NEXT HOP", "STATUS", "MESSAGES", "NODES", "OLDEST", "NEXT RETRY", "LAST ERROR"}};
  for (const auto& row : rows) {
    std::string nodes;
    for (const auto& [node, messages] : row.nodes)
      nodes += fmt::format("{}{}:{}", nodes.empty() ? "" : ",", printable(node), messages);
    lines.push_back({printable(row.next_hop), printable(row.status), std::to_string(row.messages), nodes,
                     row.oldest ? relative_time(*row.oldest, now) : "-",
                     row.next_retry ? relative_time(*row.next_retry, now) : "-",
                     row.last_error.empty() ? "-" : printable(row.last_error_node) + ": " + printable(row.last_error)});
  }
  std::vector<std::size_t> w(lines[0].size(), 0);
  for (const auto& cells : lines)
    for (std::size_t i = 0; i + 1 < cells.size(); ++i) w[i] = std::max(w[i], width(cells[i]));
  std::string out;
  for (std::size_t l = 0; l < lines.size(); ++l) {
    for (std::size_t i = 0; i + 1 < lines[l].size(); ++i) out += pad(lines[l][i], w[i], i == 2 && l > 0) + "  ";
    out += lines[l].back() + "\n";
  }
  return out;
}

std::string render_fleet_messages(const std::vector<FleetMessageRow>& rows, TimePoint now) {
  std::vector<MessageRow> messages;
  std::vector<std::string> nodes;
  for (const auto& row : rows) {
    messages.push_back(row.row);
    nodes.push_back(row.node);
  }
  return render_message_rows(messages, now, nodes);
}

}  // namespace sluice::queue
