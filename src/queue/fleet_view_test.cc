#include "queue/fleet_view.h"

#include <gtest/gtest.h>

#include "queue/view_test_clock.h"

namespace sluice::queue {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using TimePoint = std::chrono::system_clock::time_point;

HopRow fleet_hop(std::string hop, std::string status, std::size_t messages, std::optional<TimePoint> retry = {},
                 std::string error = "", std::optional<TimePoint> error_at = {}, std::optional<TimePoint> oldest = {}) {
  return HopRow{std::move(hop), std::move(status), messages, std::move(error), retry, oldest, error_at};
}

NodeAnswer fleet_node(std::string name, std::vector<HopRow> hops) {
  NodeAnswer node;
  node.node = std::move(name);
  node.source = "gateway";
  node.now = kViewTestNow;
  node.hops = std::move(hops);
  return node;
}

TEST(FleetView, MergesByNextHopWithPerNodeCounts) {
  const std::string refused = "451 4.4.0 mx2 refused";
  const std::string dropped = "421 4.4.2 Connection dropped";
  std::vector<NodeAnswer> nodes = {
      fleet_node("mx1", {fleet_hop("partner.example", "Retry", 2, kViewTestNow + 10min, dropped, kViewTestNow - 2min,
                                   kViewTestNow - 1h),
                         fleet_hop("other.example", "Ready", 1)}),
      fleet_node("mx2", {fleet_hop("partner.example", "Retry", 3, kViewTestNow + 4min, refused, kViewTestNow - 1min,
                                   kViewTestNow - 3h)}),
  };
  auto rows = merge_hops(nodes);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].next_hop, "other.example");
  EXPECT_EQ(rows[0].status, "Ready");
  EXPECT_FALSE(rows[0].next_retry);
  const auto& partner = rows[1];
  EXPECT_EQ(partner.messages, 5u);
  EXPECT_EQ(partner.nodes, (std::map<std::string, std::size_t>{{"mx1", 2}, {"mx2", 3}}));
  EXPECT_EQ(partner.status, "Retry");
  EXPECT_EQ(partner.next_retry, kViewTestNow + 4min);  // the earliest
  EXPECT_EQ(partner.oldest, kViewTestNow - 3h);        // the oldest
  EXPECT_EQ(partner.last_error, refused);              // the latest attempt's
  EXPECT_EQ(partner.last_error_node, "mx2");

  EXPECT_EQ(render_fleet_hops(rows, kViewTestNow),
            "NEXT HOP         STATUS  MESSAGES  NODES        OLDEST  NEXT RETRY  LAST ERROR\n"
            "other.example    Ready          1  mx1:1        -       -           -\n"
            "partner.example  Retry          5  mx1:2,mx2:3  3h ago  in 4m       mx2: " +
                refused + "\n");
}

TEST(FleetView, AnActiveOrReadyRowOnOneNodeWinsOverRetryElsewhere) {
  auto rows =
      merge_hops({fleet_node("a", {fleet_hop("h", "Retry", 1, kViewTestNow + 1min)}),
                  fleet_node("b", {fleet_hop("h", "Active", 1)}), fleet_node("c", {fleet_hop("h", "Ready", 1)})});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, "Active");
  EXPECT_FALSE(rows[0].next_retry);  // the rule of queue_status.h holds for merged rows too
}

TEST(FleetView, AnUnreadableNodeIsKeptWithItsErrorAndCountsNothing) {
  NodeAnswer down;
  down.node = "mx3";
  down.error = "no gateway and no spool";
  std::vector<NodeAnswer> nodes = {fleet_node("mx1", {fleet_hop("h", "Ready", 4)}), down};
  auto rows = merge_hops(nodes);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].messages, 4u);
  Json json = fleet_hops_json(rows, nodes, kViewTestNow);
  EXPECT_EQ(json["nodes"][1], (Json{{"node", "mx3"}, {"error", "no gateway and no spool"}}));
  EXPECT_EQ(json["nodes"][0]["source"], "gateway");
  EXPECT_EQ(json["hops"][0]["nodes"], (Json{{"mx1", 4}}));
  EXPECT_EQ(json["hops"][0]["next_retry"], nullptr);
}

TEST(FleetView, ReadsWhatQueueListJsonPrints) {
  HopRow row =
      fleet_hop("partner.example", "Retry", 2, kViewTestNow + 1min, "421 x", kViewTestNow - 1min, kViewTestNow - 2h);
  Json output = {{"source", "spool"}, {"now", format_utc_time(kViewTestNow)}, {"hops", hop_rows_json({row})}};
  NodeAnswer answer;
  read_node_answer(output, false, answer);
  ASSERT_EQ(answer.error, "");
  ASSERT_EQ(answer.hops.size(), 1u);
  EXPECT_EQ(answer.hops[0].oldest, kViewTestNow - 2h);
  EXPECT_EQ(answer.hops[0].last_error_at, kViewTestNow - 1min);
  EXPECT_EQ(answer.source, "spool");
  EXPECT_TRUE(answer.loading.is_null());
  NodeAnswer starting;
  Json loading = output;
  loading["source"] = "gateway";
  loading["loading"] = {{"read", 10}, {"total", 200}};
  read_node_answer(loading, false, starting);
  ASSERT_EQ(starting.error, "");
  starting.node = "mx2";
  EXPECT_EQ(nodes_json({starting})[0]["loading"], (Json{{"read", 10}, {"total", 200}}));  // its part is not complete

  NodeAnswer wrong;
  read_node_answer(Json{{"source", "spool"}, {"now", "yesterday"}, {"hops", Json::array()}}, false, wrong);
  EXPECT_NE(wrong.error.find("no valid \"now\""), std::string::npos);
  NodeAnswer nested;
  read_node_answer(fleet_hops_json({}, {}, kViewTestNow), false, nested);
  EXPECT_NE(nested.error.find("fleet"), std::string::npos);
  NodeAnswer no_messages;
  read_node_answer(output, true, no_messages);
  EXPECT_NE(no_messages.error, "");
}

TEST(FleetView, MessagesOldestFirstAcrossNodesWithTheirNode) {
  auto with_messages = [](std::string name, std::vector<std::pair<std::string, TimePoint>> ids) {
    NodeAnswer node = fleet_node(std::move(name), {});
    for (auto& [id, received] : ids) {
      MessageRow row;
      row.id = id;
      row.received = received;
      row.status = "Ready";
      node.messages.push_back(row);
    }
    node.total = node.messages.size() + 10;
    return node;
  };
  std::vector<NodeAnswer> nodes = {with_messages("mx1", {{"A1", kViewTestNow - 1h}, {"A2", kViewTestNow - 1min}}),
                                   with_messages("mx2", {{"B1", kViewTestNow - 2h}})};
  auto rows = merge_messages(nodes, 2);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].row.id, "B1");
  EXPECT_EQ(rows[0].node, "mx2");
  EXPECT_EQ(rows[1].row.id, "A1");
  Json json = fleet_messages_json(rows, nodes, kViewTestNow);
  EXPECT_EQ(json["total"], 23);
  EXPECT_EQ(json["messages"][0]["node"], "mx2");
  EXPECT_EQ(json["messages"][0]["id"], "B1");
  std::string text = render_fleet_messages(rows, kViewTestNow);
  EXPECT_EQ(text.rfind("NODE  ID  STATUS  AGE", 0), 0u) << text;
  EXPECT_NE(text.find("\nmx2   B1  Ready   2h"), std::string::npos) << text;
}

}  // namespace
}  // namespace sluice::queue
