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

std::string format_line(const Line& line) {
  std::string out = format_time(line.time);
  for (std::string_view field : {std::string_view(line.connector), std::string_view(line.session_id)}) {
    out += ',';
    append_csv_field(out, field);
  }
  out += ',';
  out += std::to_string(line.sequence);
  for (std::string_view field : {std::string_view(line.local_endpoint), std::string_view(line.remote_endpoint)}) {
    out += ',';
    append_csv_field(out, field);
  }
  out += ',';
  out += static_cast<char>(line.event);
  out += ',';
  append_csv_field(out, line.data);
  out += ',';
  append_csv_field(out, line.context);
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

Writer::Writer(std::filesystem::path dir, Direction direction, std::uint64_t max_file_bytes)
    : Writer(std::move(dir), file_kind(direction), max_file_bytes) {}

Writer::Writer(std::filesystem::path dir, FileKind kind, std::uint64_t max_file_bytes)
    : dir_(std::move(dir)), kind_(std::move(kind)), max_file_bytes_(max_file_bytes) {}

Writer::~Writer() { close_file(); }

void Writer::close_file() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

namespace {

// One write(2) per line; loops only for the rare short write or EINTR.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

bool Writer::open_for(system_clock::time_point now) {
  close_file();
  std::string hour = hour_key(now);
  if (hour < hour_) hour = hour_;  // never step back to a finished hour
  int index = hour == hour_ ? index_ + 1 : 1;
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  // A bounded search: thousands of files in one hour means something else is wrong.
  for (int tries = 0; tries < 10000; ++tries, ++index) {
    std::filesystem::path path = dir_ / name_for(kind_, hour, index);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0 && errno == EEXIST) continue;
    if (fd < 0) {
      if (!failing_) log_warning("{}: cannot create {}: {}", kind_.label, path.string(), std::strerror(errno));
      failing_ = true;
      return false;
    }
    std::string header = header_lines(kind_, now);
    if (!write_all(fd, header)) {
      if (!failing_) log_warning("{}: cannot write {}: {}", kind_.label, path.string(), std::strerror(errno));
      failing_ = true;
      ::close(fd);
      return false;
    }
    fd_ = fd;
    path_ = std::move(path);
    hour_ = std::move(hour);
    index_ = index;
    bytes_ = header_bytes_ = header.size();
    return true;
  }
  if (!failing_) log_warning("{}: no free file name in {} for hour {}", kind_.label, dir_.string(), hour);
  failing_ = true;
  return false;
}

void Writer::write(const Line& line) { write_text(line.time, format_line(line)); }

bool Writer::write_text(system_clock::time_point time, std::string_view text) {
  std::lock_guard lock(mutex_);
  std::string hour = hour_key(time);
  bool need_new = fd_ < 0 || hour > hour_ || (bytes_ + text.size() > max_file_bytes_ && bytes_ > header_bytes_);
  if (need_new && !open_for(time)) {
    ++dropped_;
    return false;
  }
  if (!write_all(fd_, text)) {
    if (!failing_) log_warning("{}: cannot write {}: {}", kind_.label, path_.string(), std::strerror(errno));
    failing_ = true;
    ++dropped_;
    close_file();  // the next line tries a fresh file
    return false;
  }
  if (failing_) log_info("{}: writing {} again ({} line(s) lost so far)", kind_.label, path_.string(), dropped_);
  failing_ = false;
  bytes_ += text.size();
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
