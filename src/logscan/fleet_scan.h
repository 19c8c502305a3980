// A fleet's logs in one report (docs/logscan.md, "Several gateways"): each node's logs are scanned
// on their own (sessions and message tracking belong to the server that wrote them), labelled with
// the node, then merged, so that every peer and failure lists the nodes that saw it.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "base/result.h"
#include "logscan/scanner.h"

namespace sluice::logscan {

struct NodeLogs {
  std::string node;
  std::vector<std::string> paths;
};

/// "NAME=PATH" (--node): the logs of node NAME under PATH (a file or a directory).
Result<NodeLogs> parse_node_argument(const std::string& argument);
/// Every subdirectory of `dir` (--nodes): one node each, named after the subdirectory, sorted.
Result<std::vector<NodeLogs>> nodes_in_directory(const std::filesystem::path& dir);

/// Scans each node's paths, labels what it found with the node, and merges; errors are
/// prefixed with the node ("mx2: logs/mx2/x.log: ...").
ScanResult scan_fleet(const std::vector<NodeLogs>& nodes, const ScanOptions& options);

}  // namespace sluice::logscan
