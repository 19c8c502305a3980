#include "protocol_log/protocol_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <system_error>

#include <fmt/format.h>

#include "base/csv.h"
#include "base/logging.h"
#include "base/utf8.h"

namespace sluice::protocol_log {
namespace {

using namespace std::chrono;

// What logscan and the header's #Version line call this writer's format version.
constexpr std::string_view kSoftwareVersion = "0.1.0";
constexpr std::string_view kFields =
    "date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context";
constexpr int kFieldCount = 9;

struct Civil {
  int year, month, day, hour, minute, second, millis;
};

Civil to_civil(system_clock::time_point t) {
  auto ms = floor<milliseconds>(t);
  auto day = floor<days>(ms);
  year_month_day ymd{day};
  hh_mm_ss hms{ms - day};
  return {int(ymd.year()),
          int(unsigned(ymd.month())),
          int(unsigned(ymd.day())),
          int(hms.hours().count()),
          int(hms.minutes().count()),
          int(hms.seconds().count()),
          int(hms.subseconds().count())};
}

std::string hour_key(system_clock::time_point t) {
  Civil c = to_civil(t);
  return fmt::format("{:04}{:02}{:02}{:02}", c.year, c.month, c.day, c.hour);
}

template <typename T>
bool parse_digits(std::string_view text, T& out) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

std::string format_time(system_clock::time_point t) {
  Civil c = to_civil(t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", c.year, c.month, c.day, c.hour, c.minute, c.second,
                     c.millis);
}

std::optional<system_clock::time_point> parse_time(std::string_view s) {
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s.back() != 'Z') {
    return std::nullopt;
  }
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!parse_digits(s.substr(0, 4), y) || !parse_digits(s.substr(5, 2), mo) || !parse_digits(s.substr(8, 2), d) ||
      !parse_digits(s.substr(11, 2), h) || !parse_digits(s.substr(14, 2), mi) || !parse_digits(s.substr(17, 2), sec)) {
    return std::nullopt;
  }
  std::string_view rest = s.substr(19, s.size() - 20);
  int millis = 0;
  if (!rest.empty()) {
    if (rest[0] != '.' || rest.size() < 2 || rest.size() > 8) return std::nullopt;
    std::string_view frac = rest.substr(1);
    std::string padded(frac.substr(0, std::min<size_t>(frac.size(), 3)));
    padded.resize(3, '0');
    int ignored = 0;
    if (!parse_digits(frac, ignored) || !parse_digits(std::string_view(padded), millis)) return std::nullopt;
  }
  year_month_day ymd{year{y}, month{unsigned(mo)}, day{unsigned(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  const sys_time<milliseconds> t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec} + milliseconds{millis};
  // system_clock counts nanoseconds in 64 bits (years 1678 to 2262): converting a stamp outside
  // that range would overflow, so such a line is malformed rather than silently another date.
  if (t < time_point_cast<milliseconds>(system_clock::time_point::min()) ||
      t > time_point_cast<milliseconds>(system_clock::time_point::max()))
    return std::nullopt;
  return t;
}

namespace {
// A client controls most of a line (commands, EHLO names, certificate subjects, the peer's replies
// on SEND lines): what it sent must not reach a terminal or grep raw, nor break the line.
void append_log_field(std::string& out, std::string_view field) {
  out += ',';
  append_csv_field(out, escape_control_characters(field));
}
}  // namespace

std::string format_line(const Line& line) {
  std::string out = format_time(line.time);
  append_log_field(out, line.connector);
  append_log_field(out, line.session_id);
  out += ',';
  out += std::to_string(line.sequence);
  append_log_field(out, line.local_endpoint);
  append_log_field(out, line.remote_endpoint);
  out += ',';
  out += static_cast<char>(line.event);
  append_log_field(out, line.data);
  append_log_field(out, line.context);
  out += "\r\n";
  return out;
}

std::optional<Line> parse_line(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.empty() || text.front() == '#') return std::nullopt;
  auto fields = parse_csv_record(text, kFieldCount);
  if (!fields || fields->size() != kFieldCount) return std::nullopt;
  auto& f = *fields;
  Line line;
  auto time = parse_time(f[0]);
  if (!time) return std::nullopt;
  line.time = *time;
  if (!parse_digits(std::string_view(f[3]), line.sequence)) return std::nullopt;
  if (f[6].size() != 1) return std::nullopt;
  switch (f[6][0]) {
    case '+':
    case '-':
    case '>':
    case '<':
    case '*':
      line.event = static_cast<Event>(f[6][0]);
      break;
    default:
      return std::nullopt;
  }
  line.connector = std::move(f[1]);
  line.session_id = std::move(f[2]);
  line.local_endpoint = std::move(f[4]);
  line.remote_endpoint = std::move(f[5]);
  line.data = std::move(f[7]);
  line.context = std::move(f[8]);
  return line;
}

FileKind file_kind(Direction direction) {
  if (direction == Direction::Receive)
    return {"RECV", "SMTP Receive Protocol Log", std::string(kFields), "protocol log"};
  return {"SEND", "SMTP Send Protocol Log", std::string(kFields), "protocol log"};
}

std::string header_lines(const FileKind& kind, system_clock::time_point now) {
  return fmt::format("#Software: sluice\r\n#Version: {}\r\n#Log-type: {}\r\n#Date: {}\r\n#Fields: {}\r\n",
                     kSoftwareVersion, kind.log_type, format_time(now), kind.fields);
}

std::string header_lines(Direction direction, system_clock::time_point now) {
  return header_lines(file_kind(direction), now);
}

namespace {
std::string name_for(const FileKind& kind, std::string_view hour, int index) {
  return fmt::format("{}{}-{}.LOG", kind.prefix, hour, index);
}
}  // namespace

std::string file_name(const FileKind& kind, system_clock::time_point hour, int index) {
  return name_for(kind, hour_key(hour), index);
}

std::string file_name(Direction direction, system_clock::time_point hour, int index) {
  return file_name(file_kind(direction), hour, index);
}

namespace {
WriterOptions writer_options(std::uint64_t max_file_bytes) {
  WriterOptions options;
  options.max_file_bytes = max_file_bytes;
  return options;
}
}  // namespace

Writer::Writer(std::filesystem::path dir, Direction direction, std::uint64_t max_file_bytes)
    : Writer(std::move(dir), file_kind(direction), max_file_bytes) {}

Writer::Writer(std::filesystem::path dir, FileKind kind, std::uint64_t max_file_bytes)
    : Writer(std::move(dir), std::move(kind), writer_options(max_file_bytes)) {}

Writer::Writer(std::filesystem::path dir, FileKind kind, WriterOptions options)
    : dir_(std::move(dir)), kind_(std::move(kind)), options_(std::move(options)) {
  options_.clock = steady_clock_if_empty(std::move(options_.clock));
  if (!options_.write_call)
    options_.write_call = [](int fd, const void* data, std::size_t size) { return ::write(fd, data, size); };
}

Writer::~Writer() { close_file(); }

void Writer::close_file() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  path_.clear();
}

// One write(2) per line; loops only for the rare short write or EINTR.
bool Writer::write_bytes(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = options_.write_call(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) {
      errno = EIO;  // a write that makes no progress would loop for ever
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool Writer::open_for(system_clock::time_point now) {
  close_file();
  std::string hour = hour_key(now);
  if (hour < hour_) hour = hour_;  // never step back to a finished hour
  if (hour != hour_) next_index_ = 1;
  hour_ = hour;
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  // Names taken by a previous run (or anything else) are skipped once: next_index_ remembers where
  // the search ended, so the next file, or the next try after a failure, starts there.
  // A bounded search: thousands of files in one hour means something else is wrong.
  for (int tries = 0; tries < 10000; ++tries, ++next_index_) {
    std::filesystem::path path = dir_ / name_for(kind_, hour, next_index_);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0 && errno == EEXIST) continue;
    if (fd < 0) {
      failure_ = fmt::format("cannot create {}: {}", path.string(), std::strerror(errno));
      return false;
    }
    std::string header = header_lines(kind_, now);
    if (!write_bytes(fd, header)) {
      failure_ = fmt::format("cannot write {}: {}", path.string(), std::strerror(errno));
      ::close(fd);
      ::unlink(path.c_str());  // no empty or partial file left behind; the name is tried again
      return false;
    }
    fd_ = fd;
    path_ = std::move(path);
    ++next_index_;
    bytes_ = header_bytes_ = header.size();
    if (new_file_hook_) new_file_hook_();
    return true;
  }
  failure_ = fmt::format("no free file name in {} for hour {}", dir_.string(), hour);
  return false;
}

bool Writer::append(std::string_view text) {
  if (write_bytes(fd_, text)) {
    bytes_ += text.size();
    return true;
  }
  failure_ = fmt::format("cannot write {}: {}", path_.string(), std::strerror(errno));
  // Take back a partial line, so that the file ends with a whole one.
  // If that fails too, the file keeps a broken last line; it is closed below and never appended to.
  if (::ftruncate(fd_, static_cast<off_t>(bytes_)) != 0) errno = 0;
  if (bytes_ == header_bytes_) {
    ::unlink(path_.c_str());  // it holds no line: its name is used again
    --next_index_;
  }
  close_file();
  return false;
}

void Writer::drop(steady_clock::time_point now) {
  ++dropped_;
  ++unreported_;
  if (!failing_) {
    failing_ = true;
    dropped_when_failing_began_ = dropped_ - 1;
    log_warning("{}: {}; dropping lines until it can be written (trying again every {} ms)", kind_.label, failure_,
                duration_cast<milliseconds>(options_.retry_interval).count());
    report_at_ = now + options_.report_interval;
  } else if (now >= report_at_) {
    log_warning("{}: {} line(s) lost in the last {} s: {}", kind_.label, unreported_,
                duration_cast<seconds>(options_.report_interval).count(), failure_);
    unreported_ = 0;
    report_at_ = now + options_.report_interval;
  }
}

void Writer::write(const Line& line) { write_text(line.time, format_line(line)); }

bool Writer::write_text(system_clock::time_point time, std::string_view text) {
  std::lock_guard lock(mutex_);
  const steady_clock::time_point now = options_.clock();
  // While failing, a line costs a counter until the retry is due: no file system call at all.
  if (failing_ && now < retry_at_) {
    drop(now);
    return false;
  }
  const bool need_new =
      fd_ < 0 || hour_key(time) > hour_ || (bytes_ + text.size() > options_.max_file_bytes && bytes_ > header_bytes_);
  if ((need_new && !open_for(time)) || !append(text)) {
    retry_at_ = now + options_.retry_interval;
    drop(now);
    return false;
  }
  if (failing_) {
    log_info("{}: writing {} again; {} line(s) were lost", kind_.label, path_.string(),
             dropped_ - dropped_when_failing_began_);
    failing_ = false;
    unreported_ = 0;
  }
  return true;
}

std::uint64_t Writer::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

std::filesystem::path Writer::current_file() const {
  std::lock_guard lock(mutex_);
  return path_;
}

void Writer::set_new_file_hook(std::function<void()> hook) {
  std::lock_guard lock(mutex_);
  new_file_hook_ = std::move(hook);
}

SessionLog::SessionLog(Writer* writer, std::string connector, std::string session_id, std::string local_endpoint,
                       std::string remote_endpoint)
    : writer_(writer),
      connector_(std::move(connector)),
      session_id_(std::move(session_id)),
      local_(std::move(local_endpoint)),
      remote_(std::move(remote_endpoint)) {}

void SessionLog::emit(Event event, std::string_view data, std::string_view context) {
  if (writer_ == nullptr) return;
  Line line{system_clock::now(), connector_,          session_id_, sequence_++, local_, remote_, event,
            std::string(data),   std::string(context)};
  writer_->write(line);
}

void SessionLog::connect() { emit(Event::Connect, {}, {}); }
void SessionLog::disconnect(std::string_view reason) { emit(Event::Disconnect, {}, reason); }
void SessionLog::sent(std::string_view data) { emit(Event::Sent, data, {}); }
void SessionLog::received(std::string_view data) { emit(Event::Received, data, {}); }
void SessionLog::info(std::string_view context) { emit(Event::Info, {}, context); }
void SessionLog::info_value(std::string_view data, std::string_view context) { emit(Event::Info, data, context); }

}  // namespace sluice::protocol_log
