#include "protocol_log/retention.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "base/logging.h"
#include "protocol_log/protocol_log.h"

namespace sluice::protocol_log {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

struct LogFile {
  std::string name;
  std::string hour;  ///< yyyymmddhh
  long index = 0;    ///< <n>
  std::uint64_t bytes = 0;
  system_clock::time_point written;
};

// Splits "<prefix><yyyymmddhh>-<n>.LOG" into the hour and <n>; false for any other name.
bool split_log_file_name(std::string_view name, std::string_view prefix, std::string& hour, long& index) {
  constexpr std::string_view kSuffix = ".LOG";
  if (!name.starts_with(prefix) || !name.ends_with(kSuffix)) return false;
  std::string_view rest = name.substr(prefix.size(), name.size() - prefix.size() - kSuffix.size());
  if (rest.size() < 12 || rest[10] != '-') return false;
  std::string_view digits = rest.substr(0, 10), number = rest.substr(11);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  if (number.empty() || number.size() > 9 ||
      !std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  std::from_chars(number.data(), number.data() + number.size(), index);
  hour = digits;
  return true;
}

// The log's files in `dir`, oldest first by name (hour, then <n>): lstat only, no file is opened.
std::vector<LogFile> list_log_files(const fs::path& dir, std::string_view prefix) {
  std::vector<LogFile> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    LogFile file;
    file.name = it->path().filename().string();
    if (!split_log_file_name(file.name, prefix, file.hour, file.index)) continue;
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    file.bytes = static_cast<std::uint64_t>(st.st_size);
    file.written = system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(
        std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
    files.push_back(std::move(file));
  }
  std::sort(files.begin(), files.end(),
            [](const LogFile& a, const LogFile& b) { return std::tie(a.hour, a.index) < std::tie(b.hour, b.index); });
  return files;
}

// "8.0 KB", "250.0 MB": binary units, as Exchange's sizes and the configuration's.
std::string size_text(std::uint64_t bytes) {
  if (bytes >= (1ull << 30)) return fmt::format("{:.1f} GB", double(bytes) / (1ull << 30));
  if (bytes >= (1ull << 20)) return fmt::format("{:.1f} MB", double(bytes) / (1ull << 20));
  if (bytes >= (1ull << 10)) return fmt::format("{:.1f} KB", double(bytes) / (1ull << 10));
  return fmt::format("{} bytes", bytes);
}

// "30d", "12h", "90s": as max_age is written in the configuration.
std::string age_text(std::chrono::seconds age) {
  const auto s = age.count();
  if (s % 86400 == 0) return fmt::format("{}d", s / 86400);
  if (s % 3600 == 0) return fmt::format("{}h", s / 3600);
  return fmt::format("{}s", s);
}

// "3 last written over 30d ago, 2 beyond the 250.0 MB directory limit" (the parts that apply).
std::string reasons(const RetentionReport& report, const RetentionLimits& limits) {
  std::string text;
  if (report.removed_for_age > 0)
    text = fmt::format("{} last written over {} ago", report.removed_for_age, age_text(limits.max_age));
  if (report.removed_for_size > 0)
    text += fmt::format("{}{} beyond the {} directory limit", text.empty() ? "" : ", ", report.removed_for_size,
                        size_text(limits.max_directory_bytes));
  return text;
}

}  // namespace

bool is_log_file_name(std::string_view name, std::string_view prefix) {
  std::string hour;
  long index = 0;
  return split_log_file_name(name, prefix, hour, index);
}

RetentionReport remove_expired_files(const fs::path& dir, std::string_view prefix, const RetentionLimits& limits,
                                     system_clock::time_point now, const std::function<fs::path()>& keep,
                                     const std::function<int(const char*)>& unlink_call) {
  RetentionReport report;
  std::vector<LogFile> files = list_log_files(dir, prefix);
  if (files.empty()) return report;
  // Asked after the listing: whatever the writer opens from now on is not in `files`.
  const std::string kept = keep ? keep().filename().string() : std::string();
  const std::string& newest = files.back().name;
  std::uint64_t total = 0;
  for (const LogFile& file : files) total += file.bytes;
  const auto remove = [&](const LogFile& file) {
    const fs::path path = dir / file.name;
    if ((unlink_call ? unlink_call(path.c_str()) : ::unlink(path.c_str())) != 0 && errno != ENOENT) {
      report.failures.push_back(fmt::format("cannot remove {}: {}", path.string(), std::strerror(errno)));
      return false;
    }
    total -= file.bytes;
    report.bytes_removed += file.bytes;
    return true;
  };
  std::vector<const LogFile*> left;
  for (const LogFile& file : files) {
    const bool protected_file = file.name == kept || file.name == newest;
    if (protected_file) continue;
    if (limits.max_age.count() > 0 && now - file.written > limits.max_age) {
      if (remove(file)) ++report.removed_for_age;
      continue;  // removed, or already reported as failing
    }
    left.push_back(&file);
  }
  for (const LogFile* file : left) {  // oldest first
    if (limits.max_directory_bytes == 0 || total <= limits.max_directory_bytes) break;
    if (remove(*file)) ++report.removed_for_size;
  }
  report.bytes_kept = total;
  return report;
}

RetentionJanitor::RetentionJanitor() : RetentionJanitor(Options{}) {}

RetentionJanitor::RetentionJanitor(Options options) : options_(std::move(options)) {
  if (!options_.clock) options_.clock = [] { return system_clock::now(); };
}

RetentionJanitor::~RetentionJanitor() {
  for (Watched& w : watched_) w.writer->set_new_file_hook(nullptr);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RetentionJanitor::watch(Writer& writer, RetentionLimits limits) {
  if (limits.max_age.count() == 0 && limits.max_directory_bytes == 0) return;
  watched_.push_back({&writer, limits});
  writer.set_new_file_hook([this] { request(); });
}

void RetentionJanitor::start() {
  if (watched_.empty() || thread_.joinable()) return;
  requested_ = true;  // the first pass: what an earlier run left
  thread_ = std::thread([this] { loop(); });
}

void RetentionJanitor::request() {
  {
    std::lock_guard lock(mutex_);
    requested_ = true;
  }
  wake_.notify_one();
}

void RetentionJanitor::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (!requested_) wake_.wait_for(lock, options_.interval, [this] { return requested_ || stopping_; });
    if (stopping_) break;
    requested_ = false;
    lock.unlock();  // writers may ask for the next pass while this one runs
    run_once();
    lock.lock();
  }
}

void RetentionJanitor::run_once() {
  std::lock_guard pass(pass_mutex_);
  std::uint64_t removed = 0;
  for (const Watched& w : watched_) {
    Writer& writer = *w.writer;
    const RetentionReport report = remove_expired_files(writer.dir(), writer.kind().prefix, w.limits, options_.clock(),
                                                        [&writer] { return writer.current_file(); });
    for (const std::string& failure : report.failures) log_warning("{} retention: {}", writer.kind().label, failure);
    if (report.removed() > 0)
      log_info("{} retention: removed {} file(s), {}, from {} ({}); {} kept", writer.kind().label, report.removed(),
               size_text(report.bytes_removed), writer.dir().string(), reasons(report, w.limits),
               size_text(report.bytes_kept));
    removed += report.removed();
  }
  std::lock_guard lock(mutex_);
  ++passes_;
  files_removed_ += removed;
}

std::uint64_t RetentionJanitor::passes() const {
  std::lock_guard lock(mutex_);
  return passes_;
}

std::uint64_t RetentionJanitor::files_removed() const {
  std::lock_guard lock(mutex_);
  return files_removed_;
}

}  // namespace sluice::protocol_log
