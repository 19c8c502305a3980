#include "logscan/fleet_scan.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>

#include "base/temp_dir_test_util.h"
#include "logscan/report.h"

namespace sluice::logscan {
namespace {

namespace fs = std::filesystem;

/// A sluice receive protocol log of `sessions`: {remote address, "TLS1_0"/"TLS1_2" or "refused"}.
void write_node_receive_log(const fs::path& file, const std::vector<std::pair<std::string, std::string>>& sessions) {
  std::string out =
      "#Software: sluice\r\n#Version: 0.1.0\r\n#Log-type: SMTP Receive Protocol Log\r\n"
      "#Date: 2026-11-27T07:00:00.000Z\r\n#Fields: "
      "date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context\r\n";
  int n = 0;
  for (const auto& [remote, tls] : sessions) {
    std::string id = fmt::format("{:016X}", 0xB000 + n);
    std::string t = fmt::format("2026-11-27T07:00:{:02}.000Z", n++);
    auto line = [&](int seq, const char* ev, const std::string& data, const std::string& ctx) {
      out += fmt::format("{},Default,{},{},127.0.0.1:25,{}:4{:04},{},{},{}\r\n", t, id, seq, remote, n, ev, data, ctx);
    };
    line(0, "+", "", "");
    line(1, "<", "EHLO client", "");
    if (tls == "refused")
      line(2, "*", "", "TLS negotiation failed with error UnsupportedProtocol");
    else
      line(2, "*", "",
           fmt::format("\"TLS protocol SP_PROT_{}_SERVER negotiation succeeded using bulk encryption algorithm "
                       "CALG_AES_128 with strength 128 bits, MAC hash algorithm CALG_SHA_256 with strength 0 bits and "
                       "key exchange algorithm CALG_ECDH_EPHEM with strength 256 bits\"",
                       tls));
    line(9, "-", "", "Local");
  }
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << out;
}

TEST(FleetScan, EachPeerNamesTheNodesThatSawIt) {
  test_util::TempDir dir("logscan-fleet");
  write_node_receive_log(dir.path() / "mx1/SmtpReceive/RECV2026112707-1.LOG",
                         {{"192.0.2.1", "TLS1_0"}, {"192.0.2.9", "TLS1_2"}});
  write_node_receive_log(dir.path() / "mx2/SmtpReceive/RECV2026112707-1.LOG",
                         {{"192.0.2.1", "TLS1_0"}, {"192.0.2.2", "refused"}});
  auto nodes = nodes_in_directory(dir.path());
  ASSERT_TRUE(nodes) << nodes.error().message;
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[0].node, "mx1");
  EXPECT_EQ((*nodes)[1].node, "mx2");
  ScanResult result = scan_fleet(*nodes, {});
  EXPECT_TRUE(result.errors.empty());
  const auto& peers = result.aggregate.peers;
  const auto& shared = peers.at(Aggregate::peer_key(Direction::Inbound, "Default", "192.0.2.1"));
  EXPECT_EQ(shared.nodes, (std::vector<std::string>{"mx1", "mx2"}));
  EXPECT_EQ(shared.sessions[1], 2u);  // one TLS 1.0 session on each node
  EXPECT_EQ(peers.at(Aggregate::peer_key(Direction::Inbound, "Default", "192.0.2.2")).nodes,
            std::vector<std::string>{"mx2"});
  EXPECT_EQ(peers.at(Aggregate::peer_key(Direction::Inbound, "Default", "192.0.2.9")).nodes,
            std::vector<std::string>{"mx1"});
  ASSERT_EQ(result.aggregate.failures.size(), 1u);
  EXPECT_EQ(result.aggregate.failures.begin()->second.nodes, std::vector<std::string>{"mx2"});

  ReportOptions options;
  options.nodes = {"mx1", "mx2"};
  Report report = build_report(result.aggregate, options);
  std::string text = render_text(report);
  EXPECT_NE(text.find("Nodes (2): mx1 mx2"), std::string::npos) << text;
  EXPECT_NE(text.find("NODES"), std::string::npos) << text;
  auto json = render_json(report);
  EXPECT_EQ(json["nodes"], nlohmann::json({"mx1", "mx2"}));
  bool found = false;
  for (const auto& peer : json["legacy_peers"])
    if (peer["remote"] == "192.0.2.1") {
      found = true;
      EXPECT_EQ(peer["nodes"], nlohmann::json({"mx1", "mx2"}));
    }
  EXPECT_TRUE(found) << json.dump();
  EXPECT_EQ(json["failures"][0]["nodes"], nlohmann::json({"mx2"}));
  EXPECT_EQ(json["inputs"]["files"][0]["node"], "mx1");
  std::string csv = render_csv(report);
  EXPECT_NE(csv.find(",example_line,nodes\r\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("legacy_peer,inbound,Default,192.0.2.1,client,TLS1_0,2,0,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",mx1 mx2\r\n"), std::string::npos) << csv;
  std::string html = render_html(report);
  EXPECT_NE(html.find("<th>Nodes</th>"), std::string::npos);
  EXPECT_NE(html.find("<td>mx1 mx2</td>"), std::string::npos);

  // Without nodes, the report is as before: no NODES column anywhere.
  Report plain = build_report(result.aggregate, {});
  EXPECT_EQ(render_text(plain).find("NODES"), std::string::npos);
  EXPECT_FALSE(render_json(plain).contains("nodes"));
  EXPECT_EQ(render_csv(plain).find("nodes"), std::string::npos);
}

TEST(FleetScan, NodeArgumentsAndErrorsNameTheNode) {
  auto node = parse_node_argument("mx1=/srv/logs/mx1");
  ASSERT_TRUE(node);
  EXPECT_EQ(node->node, "mx1");
  EXPECT_EQ(node->paths, std::vector<std::string>{"/srv/logs/mx1"});
  for (const char* bad : {"mx1", "=/srv", "mx1="}) EXPECT_FALSE(parse_node_argument(bad)) << bad;
  test_util::TempDir dir("logscan-fleet");
  EXPECT_FALSE(nodes_in_directory(dir.path()));  // no node folder
  EXPECT_FALSE(nodes_in_directory(dir.path() / "missing"));
  ScanResult result = scan_fleet({{"mx3", {(dir.path() / "missing.log").string()}}}, {});
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].rfind("mx3: ", 0), 0u) << result.errors[0];
}

}  // namespace
}  // namespace sluice::logscan
