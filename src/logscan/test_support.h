// Helpers for logscan's unit tests: run a reader over text held in memory.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "logscan/aggregate.h"
#include "logscan/collector.h"
#include "logscan/filters.h"
#include "logscan/input_file.h"
#include "logscan/line_reader.h"
#include "logscan/log_reader.h"
#include "logscan/tracking_overlap.h"

namespace sluice::logscan::testing {

/// Bytes from a string, `chunk` at a time (small chunks exercise the block boundaries).
class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string text, std::size_t chunk = 1 << 20) : text_(std::move(text)), chunk_(chunk) {}
  long read(char* buffer, std::size_t size) override {
    std::size_t n = std::min({size, chunk_, text_.size() - pos_});
    text_.copy(buffer, n, pos_);
    pos_ += n;
    return static_cast<long>(n);
  }

 private:
  std::string text_;
  std::size_t chunk_, pos_ = 0;
};

/// A reader, a Collector and an Aggregate wired together; feed() reads text through the
/// LineReader as the scanner does; done() finishes the reader and merges partial sessions.
struct Harness {
  Filters filters;
  Aggregate aggregate;
  FileStats stats;
  std::unique_ptr<Collector> collector = std::make_unique<Collector>(filters, aggregate);

  ReadContext context(const std::string& file = "test.log", Millis reference = kNoTime) {
    stats.path = file;
    return ReadContext{file, 0, collector.get(), &stats, reference};
  }
  void feed(LogReader& reader, std::string text, std::size_t chunk = 1 << 20) {
    StringSource source(std::move(text), chunk);
    LineReader lines(source, 64);
    std::string_view line;
    while (lines.next(line)) read_record(lines, reader, line);
  }
  void done(LogReader& reader) {
    reader.finish();
    auto parts = std::move(collector->partials());
    collector->partials().clear();
    merge_partials(std::move(parts), *collector);
    fold_tracking(aggregate);
  }
  const PeerStats* peer(Direction d, std::string_view connector, std::string_view remote) const {
    auto it = aggregate.peers.find(Aggregate::peer_key(d, connector, remote));
    return it == aggregate.peers.end() ? nullptr : &it->second;
  }
  const FailureStats* failure(std::string_view signature, Direction d, std::string_view remote) const {
    std::string key(signature);
    key += '\x1f';
    key += direction_name(d);
    key += '\x1f';
    key += remote;
    auto it = aggregate.failures.find(key);
    return it == aggregate.failures.end() ? nullptr : &it->second;
  }
};

inline std::filesystem::path data_dir() {
  return std::filesystem::path(__FILE__).parent_path() / "../../tests/data/logscan";
}

}  // namespace sluice::logscan::testing
