#include "cli/queue_fleet.h"

#include <gtest/gtest.h>

#include <fstream>

#include "base/temp_dir_test_util.h"

namespace sluice::cli {
namespace {

namespace fs = std::filesystem;

struct FleetFile {
  test_util::TempDir dir{"fleet-file"};
  fs::path path = dir.path() / "fleet.toml";
  explicit FleetFile(const std::string& text) { std::ofstream(path) << text; }
};

TEST(QueueFleet, StateDirectoriesAreNamedByTheShortestTailThatTellsThemApart) {
  EXPECT_EQ(state_dir_names({"/var/lib/mx1", "/var/lib/mx2/"}), (std::vector<std::string>{"mx1", "mx2"}));
  EXPECT_EQ(state_dir_names({"/srv/a/state", "/srv/b/state", "/srv/c"}),
            (std::vector<std::string>{"a/state", "b/state", "c"}));
  EXPECT_EQ(state_dir_names({"state", "/x/state"}), (std::vector<std::string>{"state", "x/state"}));
  EXPECT_FALSE(nodes_of_state_dirs({"/srv/a", "/srv/a/"}, "sluice"));  // the same directory twice
  auto nodes = nodes_of_state_dirs({"/srv/a", "/srv/b"}, "/usr/bin/sluice");
  ASSERT_TRUE(nodes);
  EXPECT_EQ((*nodes)[1].command, (std::vector<std::string>{"/usr/bin/sluice", "queue", "--state-dir", "/srv/b"}));
}

TEST(QueueFleet, AFleetFileNamesLocalRemoteAndCommandNodes) {
  FleetFile file(R"(
[[node]]
name = "mx1"
state_dir = "/var/lib/sluice"
[[node]]
name = "mx2"
ssh = "admin@mx2.example.net"
config = "/etc/sluice/it's.toml"
[[node]]
name = "mx3"
command = ["/usr/local/bin/queue-of", "mx3"]
)");
  auto nodes = read_fleet_file(file.path, "/usr/bin/sluice");
  ASSERT_TRUE(nodes) << nodes.error().message;
  ASSERT_EQ(nodes->size(), 3u);
  FleetListRequest request;
  request.messages = true;
  request.limit = 5;
  request.filter_arguments = {"--sender=*@example.org"};
  EXPECT_EQ(node_command((*nodes)[0], request),
            (std::vector<std::string>{"/usr/bin/sluice", "queue", "--state-dir", "/var/lib/sluice", "list", "--json",
                                      "--messages", "--limit=5", "--sender=*@example.org"}));
  // ssh gives the remote shell one string: every word is quoted, so * and ' arrive as they are.
  EXPECT_EQ(node_command((*nodes)[1], {}),
            (std::vector<std::string>{"ssh", "-o", "BatchMode=yes", "--", "admin@mx2.example.net", "sluice", "queue",
                                      "'--config'", "'/etc/sluice/it'\\''s.toml'", "'list'", "'--json'"}));
  FleetListRequest hop;
  hop.filter_arguments = {"--hop=x"};
  EXPECT_EQ(node_command((*nodes)[2], hop),
            (std::vector<std::string>{"/usr/local/bin/queue-of", "mx3", "list", "--json", "--hop=x"}));
}

TEST(QueueFleet, BadFleetFilesAreRefusedWithTheReason) {
  struct Case {
    const char* text;
    const char* error;
  };
  for (const Case& c : {
           Case{"", "no [[node]] table"},
           Case{"[[node]]\nname = \"a\"\n", "state_dir, config, ssh or command"},
           Case{"[[node]]\nstate_dir = \"/x\"\n", "name is required"},
           Case{"[[node]]\nname = \"a\"\nstate_dir = \"/x\"\n[[node]]\nname = \"a\"\nstate_dir = \"/y\"\n",
                "a second node named \"a\""},
           Case{"[[node]]\nname = \"a\"\nstate_dir = \"/x\"\nconfig = \"/y\"\n", "state_dir or config, not both"},
           Case{"[[node]]\nname = \"a\"\ncommand = []\n", "command: a non-empty array"},
           Case{"[[node]]\nname = \"a\"\ncommand = [\"q\"]\nssh = \"h\"\n", "command runs alone"},
           Case{"[[node]]\nname = \"a\"\nhost = \"h\"\n", "node[0].host: unknown key"},
           Case{"nodes = 1\n", "nodes: unknown key"},
           Case{"[[node]\n", "line 1"},
       }) {
    FleetFile file(c.text);
    auto nodes = read_fleet_file(file.path, "sluice");
    ASSERT_FALSE(nodes) << c.text;
    EXPECT_NE(nodes.error().message.find(c.error), std::string::npos) << nodes.error().message;
    EXPECT_EQ(nodes.error().message.rfind(file.path.string(), 0), 0u) << nodes.error().message;
  }
}

}  // namespace
}  // namespace sluice::cli
