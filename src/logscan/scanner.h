// The driver: expands the paths, detects each file's format, cuts large protocol logs into
// parts, reads the parts on a pool of threads (one Collector per part, so no locks while
// reading), then merges the parts' aggregates and the sessions that crossed part boundaries.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "logscan/aggregate.h"
#include "logscan/filters.h"

namespace sluice::logscan {

struct ScanOptions {
  Filters filters;
  unsigned jobs = 0;  ///< worker threads; 0: one per core
  /// Traditional syslog stamps are read in this year when given, else in the year of the
  /// file's modification time (stdin: now).
  std::optional<int> year;
  /// An uncompressed protocol log at least this large is read by several workers, each from a
  /// line boundary (sessions that cross a boundary are merged afterwards).
  std::uint64_t split_threshold = 64ull << 20;
  /// Bytes a read(2): small enough that a block is still in the core's L2 cache when it is
  /// parsed (4 MiB blocks went through memory twice: 1 GiB took 1.0 s on two threads, 0.64 s now).
  std::size_t block_size = 256u << 10;
};

struct ScanResult {
  Aggregate aggregate;
  /// Paths that could not be read at all, or not to the end ("path: reason").
  std::vector<std::string> errors;
};

ScanResult scan(const std::vector<std::string>& paths, const ScanOptions& options);

}  // namespace sluice::logscan
