// `sluice queue list` over several gateways (docs/queue.md, "Several gateways"): the nodes come
// from several --state-dir or from a fleet file, each is asked by running `sluice queue ... list
// --json` for it (this very binary for a local node, ssh or any command for a remote one), and
// queue/fleet_view merges the answers.
#pragma once
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "base/result.h"

namespace sluice::cli {

/// One gateway of the fleet and the command that prints its `queue list --json`, without the
/// arguments of the request (appended when it runs).
struct FleetNode {
  std::string name;
  std::vector<std::string> command;
  bool quote_arguments = false;  ///< over ssh: the remote shell splits what it is given
};

/// The nodes of a fleet file:
///   [[node]]
///   name = "mx1"
///   state_dir = "/var/lib/sluice"   # or config = "/etc/sluice/sluice.toml": a gateway on this machine
///   ssh = "admin@mx2.example.net"   # on another machine, through ssh (BatchMode); with state_dir or
///                                   # config, those of the remote machine
///   command = ["/usr/local/bin/q"]  # or any command that prints `sluice queue list --json` output
/// `self` is the sluice binary that local nodes run.
Result<std::vector<FleetNode>> read_fleet_file(const std::filesystem::path& file, const std::string& self);
/// The names of several --state-dir: each its last path component, or as many of its last
/// components as tell it from the others ("/srv/a/state", "/srv/b/state": "a/state", "b/state").
std::vector<std::string> state_dir_names(const std::vector<std::string>& dirs);
/// Local nodes of several --state-dir, named by state_dir_names().
Result<std::vector<FleetNode>> nodes_of_state_dirs(const std::vector<std::string>& dirs, const std::string& self);

struct FleetListRequest {
  bool json = false;
  bool messages = false;
  std::size_t limit = 0;
  /// The filters as `sluice queue list` takes them ("--hop=partner.example"), passed to every node.
  std::vector<std::string> filter_arguments;
  std::chrono::seconds timeout{60};  ///< per node
};

/// The argv that asks `node` for `request`.
std::vector<std::string> node_command(const FleetNode& node, const FleetListRequest& request);

/// Asks every node at once, prints the merged view; 0 when every node answered, 1 when one could
/// not be read (it is named on stderr and in the JSON, and the view shows the others).
int list_fleet(const std::vector<FleetNode>& nodes, const FleetListRequest& request);

}  // namespace sluice::cli
