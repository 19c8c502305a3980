// Runs a logscan reader over bytes held in memory, as the scanner does (LineReader, a Collector,
// merge_partials at the end), with a choice of read sizes, and the invariants every reader's
// result must satisfy.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "fuzz_check.h"
#include "logscan/aggregate.h"
#include "logscan/collector.h"
#include "logscan/filters.h"
#include "logscan/input_file.h"
#include "logscan/line_reader.h"
#include "logscan/log_reader.h"
#include "logscan/test_support.h"

namespace fuzz {

using namespace sluice::logscan;

/// One reading of a text: the aggregate, and the file's statistics.
struct Reading {
  Filters filters;
  Aggregate aggregate;
  FileStats stats;
  std::unique_ptr<Collector> collector = std::make_unique<Collector>(filters, aggregate);

  ReadContext context(std::uint64_t order = 0, Millis reference = kNoTime) {
    stats.path = "fuzz.log";
    return ReadContext{"fuzz.log", order, collector.get(), &stats, reference};
  }
};

/// Feeds `text` to `reader` line by line through a LineReader with `block` bytes a read.
inline void feed(LogReader& reader, std::string_view text, std::size_t block, std::size_t chunk) {
  testing::StringSource source(std::string(text), chunk);  // short reads, as pipes and gzip give
  LineReader lines(source, block);
  std::string_view line;
  while (lines.next(line)) read_record(lines, reader, line);
  FUZZ_CHECK(!lines.failed());
}

/// Finishes the reader and counts the sessions it left open (merged as the scanner merges them).
inline void finish(LogReader& reader, Reading& r) {
  reader.finish();
  auto parts = std::move(r.collector->partials());
  r.collector->partials().clear();
  merge_partials(std::move(parts), *r.collector);
}

/// What must hold of any aggregate: per-peer session counts add up to the totals, and every
/// malformed line is counted once.
inline void check_consistent(const Reading& r) {
  const Aggregate& a = r.aggregate;
  ClassCounts sum{};
  for (const auto& [key, p] : a.peers) {
    FUZZ_CHECK(key == Aggregate::peer_key(p.direction, p.connector, p.remote));
    FUZZ_CHECK(p.names.size() <= PeerStats::kMaxNames);
    for (std::size_t c = 0; c < kTlsClasses; ++c) sum[c] += p.sessions[c];
    FUZZ_CHECK(p.legacy_messages <= p.messages);
  }
  FUZZ_CHECK(sum == a.sessions);
  FUZZ_CHECK(r.stats.malformed == a.malformed);
  FUZZ_CHECK(a.malformed_examples.size() == std::min<std::uint64_t>(a.malformed, Aggregate::kMaxMalformedExamples));
  for (const auto& [key, f] : a.failures) FUZZ_CHECK(f.count > 0 && f.example.text.size() <= 500);
}

/// The same counts, whatever the read sizes were.
inline bool same_counts(const Aggregate& a, const Aggregate& b) {
  if (a.sessions != b.sessions || a.malformed != b.malformed || a.peers.size() != b.peers.size() ||
      a.failures.size() != b.failures.size())
    return false;
  for (auto i = a.peers.begin(), j = b.peers.begin(); i != a.peers.end(); ++i, ++j) {
    if (i->first != j->first || i->second.sessions != j->second.sessions || i->second.messages != j->second.messages ||
        i->second.names != j->second.names)
      return false;
  }
  for (auto i = a.failures.begin(), j = b.failures.begin(); i != a.failures.end(); ++i, ++j)
    if (i->first != j->first || i->second.count != j->second.count) return false;
  return true;
}

}  // namespace fuzz
