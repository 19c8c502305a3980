#include "logscan/fleet_scan.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace sluice::logscan {

namespace fs = std::filesystem;

Result<NodeLogs> parse_node_argument(const std::string& argument) {
  auto equals = argument.find('=');
  if (equals == std::string::npos || equals == 0 || equals + 1 == argument.size())
    return fail(fmt::format("--node {}: use NAME=PATH, e.g. mx1=/srv/logs/mx1", argument));
  return NodeLogs{argument.substr(0, equals), {argument.substr(equals + 1)}};
}

Result<std::vector<NodeLogs>> nodes_in_directory(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return fail(fmt::format("--nodes {}: {}", dir.string(), ec.message()));
  std::vector<NodeLogs> nodes;
  for (const auto& entry : it) {
    std::error_code type_ec;
    if (entry.is_directory(type_ec)) nodes.push_back({entry.path().filename().string(), {entry.path().string()}});
  }
  if (nodes.empty()) return fail(fmt::format("--nodes {}: no subdirectory (one per node is expected)", dir.string()));
  std::sort(nodes.begin(), nodes.end(), [](const NodeLogs& a, const NodeLogs& b) { return a.node < b.node; });
  return nodes;
}

ScanResult scan_fleet(const std::vector<NodeLogs>& nodes, const ScanOptions& options) {
  ScanResult result;
  for (const auto& node : nodes) {
    ScanResult one = scan(node.paths, options);
    one.aggregate.label_node(node.node);
    result.aggregate.merge(std::move(one.aggregate));
    for (auto& e : one.errors) result.errors.push_back(fmt::format("{}: {}", node.node, e));
  }
  return result;
}

}  // namespace sluice::logscan
