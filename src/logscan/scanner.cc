#include "logscan/scanner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "logscan/collector.h"
#include "logscan/exchange_protocol_reader.h"
#include "logscan/format_detect.h"
#include "logscan/input_file.h"
#include "logscan/line_reader.h"
#include "logscan/message_tracking_reader.h"
#include "logscan/postfix_reader.h"
#include "logscan/tracking_overlap.h"

namespace sluice::logscan {
namespace {

/// Lines read before a file that fits no format is given up as "unknown".
constexpr int kProbeLines = 50;

/// One unit of work: a whole file, or a byte range of one.
struct Unit {
  std::size_t file = 0;  ///< index into the expanded inputs
  std::string path;
  std::uint64_t begin = 0, end = 0;  ///< byte range (end 0: to the end)
  std::uint64_t size = 0;            ///< of the whole file (0 when unknown)
  bool first_part = true;
  /// For a later part: the format and header read from the file's start.
  Format format = Format::Unknown;
  Header header;
};

struct UnitResult {
  Aggregate aggregate;
  std::vector<PartialSession> partials;
  std::uint64_t lines = 0;
  std::string error;
};

Millis reference_time(const std::string& path, const ScanOptions& options) {
  if (options.year) return (days_from_civil(*options.year, 12, 31) + 1) * 86'400'000LL - 1;
  struct stat st {};
  if (path != "-" && ::stat(path.c_str(), &st) == 0) return st.st_mtim.tv_sec * 1000LL;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::unique_ptr<LogReader> make_reader(Format f, const Header& h, const ReadContext& ctx, const std::string& path) {
  switch (f) {
    case Format::ExchangeProtocol:
      return std::make_unique<ExchangeProtocolReader>(ctx, h, direction_from_name(path));
    case Format::MessageTracking:
      return std::make_unique<MessageTrackingReader>(ctx, h);
    case Format::Postfix:
      return std::make_unique<PostfixReader>(ctx);
    case Format::Unknown:
      break;
  }
  return nullptr;
}

std::string unknown_format_error() {
  return fmt::format(
      "not a log format logscan reads (Exchange SMTP protocol or message tracking log, sluice's protocol log, "
      "Postfix syslog or maillog_file lines; the first {} lines decide)",
      kProbeLines);
}

std::string_view strip_bom(std::string_view line) {
  if (line.size() >= 3 && std::memcmp(line.data(), "\xEF\xBB\xBF", 3) == 0) line.remove_prefix(3);
  return line;
}

UnitResult run_unit(const Unit& unit, std::uint64_t order, const ScanOptions& options) {
  UnitResult r;
  Collector collector(options.filters, r.aggregate);
  FileStats stats;
  stats.path = unit.path;
  std::string why;
  auto source = open_source(unit.path, why, unit.begin, unit.end);
  if (!source) {
    stats.error = why;
    r.error = unit.path + ": " + why;
    r.aggregate.files.push_back(std::move(stats));
    return r;
  }
  ReadContext ctx{unit.path, order, &collector, &stats, reference_time(unit.path, options)};
  Header header = unit.header;
  Format format = unit.format;
  std::unique_ptr<LogReader> reader;
  if (!unit.first_part) reader = make_reader(format, header, ctx, unit.path);
  LineReader lines(*source, options.block_size);
  std::string_view line;
  int probed = 0;
  bool content = false;  // a line that is not empty
  while (lines.next(line)) {
    if (!reader) {
      if (lines.line_number() == 1) line = strip_bom(line);
      content |= !line.empty();
      if (line.empty() || header.read(line)) continue;
      format = classify(header, line);
      if (format == Format::Unknown) {
        if (++probed >= kProbeLines) break;
        continue;
      }
      reader = make_reader(format, header, ctx, unit.path);
    }
    read_record(lines, *reader, line);
  }
  if (reader) reader->finish();
  // A log with its header and no lines yet (Exchange starts each file with one) is a log.
  if (!reader && unit.first_part) format = classify(header, "");
  if (lines.failed()) {
    stats.error = source->error();
    r.error = unit.path + ": " + source->error();
  } else if (format == Format::Unknown && content) {
    // Not "nothing found": the administrator pointed logscan at something it cannot read.
    stats.error = unknown_format_error();
    r.error = unit.path + ": " + stats.error;
  }
  std::optional<Direction> d = header.direction ? header.direction : direction_from_name(unit.path);
  stats.format = format == Format::Unknown && !content
                     ? "empty"
                     : format_name(format, format == Format::ExchangeProtocol ? d : std::nullopt);
  stats.lines = lines.lines();
  stats.bytes = unit.end > unit.begin ? unit.end - unit.begin : unit.size;
  r.lines = lines.lines();
  r.aggregate.lines += lines.lines();
  r.aggregate.files.push_back(std::move(stats));
  r.partials = std::move(collector.partials());
  return r;
}

/// Reads the head of a plain file: its format and header, and where its data lines start.
bool probe_header(const std::string& path, Format& format, Header& header) {
  std::string why;
  auto source = open_source(path, why, 0, 1u << 20);
  if (!source) return false;
  LineReader lines(*source, 1u << 20);
  std::string_view line;
  while (lines.next(line)) {
    if (lines.line_number() == 1) line = strip_bom(line);
    if (line.empty() || header.read(line)) continue;
    format = classify(header, line);
    return format != Format::Unknown;
  }
  return false;
}

/// A split point near `target`: the start of a line that starts with a digit (a timestamp), so
/// that a record continued over several lines is not cut in the middle (a heuristic: such a
/// continuation line would have to start with a digit too).
std::uint64_t line_start_near(int fd, std::uint64_t target, std::uint64_t size) {
  std::vector<char> buf(1 << 16);
  std::uint64_t pos = target;
  bool after_newline = false;
  while (pos < size) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(pos));
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      if (after_newline && buf[static_cast<std::size_t>(i)] >= '0' && buf[static_cast<std::size_t>(i)] <= '9')
        return pos + static_cast<std::uint64_t>(i);
      after_newline = buf[static_cast<std::size_t>(i)] == '\n';
    }
    pos += static_cast<std::uint64_t>(n);
  }
  return size;
}

std::vector<Unit> plan_units(const std::vector<InputPath>& inputs, unsigned jobs, const ScanOptions& options) {
  std::vector<Unit> units;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const InputPath& in = inputs[i];
    Format format = Format::Unknown;
    Header header;
    if (jobs > 1 && !in.gzip && in.path != "-" && in.size >= options.split_threshold &&
        probe_header(in.path, format, header) && format == Format::ExchangeProtocol) {
      int fd = ::open(in.path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        std::uint64_t begin = 0;
        for (unsigned p = 0; p < jobs; ++p) {
          std::uint64_t end = p + 1 == jobs ? in.size : line_start_near(fd, in.size * (p + 1) / jobs, in.size);
          if (end <= begin) continue;
          units.push_back({i, in.path, begin, end, in.size, p == 0, format, header});
          begin = end;
        }
        ::close(fd);
        continue;
      }
    }
    units.push_back({i, in.path, 0, 0, in.size, true, Format::Unknown, {}});
  }
  return units;
}

/// Sums the FileStats of the parts of each file into one entry per file.
void merge_file_stats(std::vector<FileStats>& files) {
  std::vector<FileStats> out;
  for (auto& f : files) {
    if (!out.empty() && out.back().path == f.path) {
      FileStats& o = out.back();
      o.lines += f.lines;
      o.malformed += f.malformed;
      o.bytes += f.bytes;
      if (o.error.empty()) o.error = f.error;
      if (o.format == "unknown") o.format = f.format;
    } else {
      out.push_back(std::move(f));
    }
  }
  files = std::move(out);
}

}  // namespace

ScanResult scan(const std::vector<std::string>& paths, const ScanOptions& options) {
  ScanResult result;
  std::vector<InputPath> inputs = expand_paths(paths, result.errors);
  for (auto& e : result.errors)
    result.aggregate.files.push_back({e.substr(0, e.find(": ")), "unknown", 0, 0, 0, e.substr(e.find(": ") + 2)});
  unsigned jobs = options.jobs ? options.jobs : std::max(1u, std::thread::hardware_concurrency());
  std::vector<Unit> units = plan_units(inputs, jobs, options);

  std::vector<UnitResult> results(units.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < units.size();) results[i] = run_unit(units[i], i, options);
  };
  unsigned threads = std::min<unsigned>(jobs, static_cast<unsigned>(std::max<std::size_t>(1, units.size())));
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();

  // Later parts of a file numbered their lines from 1: shift them by the lines before them.
  std::vector<PartialSession> partials;
  std::uint64_t offset = 0;
  for (std::size_t i = 0; i < units.size(); ++i) {
    if (units[i].first_part) offset = 0;
    results[i].aggregate.shift_lines(units[i].path, offset);
    offset += results[i].lines;
    if (!results[i].error.empty()) result.errors.push_back(results[i].error);
    for (auto& p : results[i].partials) partials.push_back(std::move(p));
    result.aggregate.merge(std::move(results[i].aggregate));
  }
  Collector final_collector(options.filters, result.aggregate);
  merge_partials(std::move(partials), final_collector);
  merge_file_stats(result.aggregate.files);
  fold_tracking(result.aggregate);
  return result;
}

}  // namespace sluice::logscan
