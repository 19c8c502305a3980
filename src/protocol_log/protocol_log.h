// The protocol log in Exchange's format (docs/protocol-log.md): the contract that the gateway
// writes and logscan reads.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/steady_clock.h"

namespace sluice::protocol_log {

enum class Direction { Receive, Send };  ///< SmtpReceive (RECV*.LOG) or SmtpSend (SEND*.LOG)

enum class Event : char { Connect = '+', Disconnect = '-', Sent = '>', Received = '<', Info = '*' };

/// What kind of log a Writer writes: its file names, its header, its name in diagnostics. The
/// protocol logs are two kinds (file_kind()); the message tracking log (src/tracking/) another.
struct FileKind {
  std::string prefix;    ///< "RECV": files are <prefix><yyyymmddhh>-<n>.LOG
  std::string log_type;  ///< "#Log-type: " line, e.g. "SMTP Receive Protocol Log"
  std::string fields;    ///< "#Fields: " line
  std::string label;     ///< "protocol log", in warnings on stderr
};
FileKind file_kind(Direction direction);

/// "2023-01-11T16:00:01.010Z": UTC, milliseconds, as Exchange writes date-time.
std::string format_time(std::chrono::system_clock::time_point time);
/// Parses a date-time field; the fraction may have 0 to 7 digits (Exchange writes 3, .NET's
/// round-trip format 7), finer than milliseconds is truncated. nullopt for anything else.
std::optional<std::chrono::system_clock::time_point> parse_time(std::string_view text);

/// One line: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context
struct Line {
  std::chrono::system_clock::time_point time;
  std::string connector;
  std::string session_id;
  int sequence = 0;
  std::string local_endpoint;  ///< "127.0.0.1:2525", "[::1]:2525"
  std::string remote_endpoint;
  Event event = Event::Info;
  std::string data;
  std::string context;
};

/// CSV per RFC 4180: a field containing a comma or a quote is quoted, quotes doubled. Control
/// characters and bytes that are not UTF-8 are escaped first (escape_control_characters, base/utf8.h), so a line
/// holds no CR or LF of its own. Time as "2023-01-11T16:00:01.010Z". Ends with CRLF, as
/// Exchange's files do.
std::string format_line(const Line& line);

/// Parses one data line (not a "#" header), tolerant of a missing CRLF. nullopt if malformed
/// (wrong field count, bad quoting, bad time, bad event).
std::optional<Line> parse_line(std::string_view text);

/// The five header lines for a new file (Software, Version, Log-type, Date, Fields).
std::string header_lines(Direction direction, std::chrono::system_clock::time_point now);
std::string header_lines(const FileKind& kind, std::chrono::system_clock::time_point now);

/// "RECV2023011116-1.LOG" / "SEND2023011116-1.LOG": the file name for an hour and index.
std::string file_name(Direction direction, std::chrono::system_clock::time_point hour, int index);
std::string file_name(const FileKind& kind, std::chrono::system_clock::time_point hour, int index);

/// How a Writer writes, and what it does when it cannot.
struct WriterOptions {
  std::uint64_t max_file_bytes = 10ull << 20;
  /// After a failed write, lines are dropped (counted, nothing touches the disk) until this has
  /// passed; then the next line tries once more. This is how logging resumes when space returns.
  std::chrono::steady_clock::duration retry_interval = std::chrono::seconds(1);
  /// While lines are dropped, one warning per interval says how many and why.
  std::chrono::steady_clock::duration report_interval = std::chrono::minutes(1);
  SteadyClock clock;  ///< empty: std::chrono::steady_clock
  /// write(2), replaceable so that tests can make the disk fail; empty: ::write.
  std::function<ssize_t(int fd, const void* data, std::size_t size)> write_call;
};

/// Appends lines to <dir>/RECV<yyyymmddhh>-<n>.LOG (or SEND...), one file per UTC hour, a new
/// <n> when a file passes `max_file_bytes`. Thread-safe. Each write reaches the kernel before
/// write() returns (no fsync: the protocol log is diagnostics, not mail).
/// The hour is taken from the lines' own times and only moves forward, so a line stamped just
/// before an hour boundary that arrives after it goes into the newer file. A new file is always
/// a fresh name (created with O_EXCL): a restarted writer takes the next free <n> and never
/// appends to or overwrites a file it did not create.
/// The log never stops or slows mail: when a file cannot be created or written (a full disk), the
/// failed line is taken back (a partial line is truncated away, a file holding no line is
/// removed), and lines are dropped and counted (dropped()) at the cost of a counter until
/// `retry_interval` has passed; then one line tries a fresh file. stderr gets one warning when
/// writing starts to fail, one per `report_interval` with the number of lines lost, and an info
/// line when writing works again.
class Writer {
 public:
  Writer(std::filesystem::path dir, Direction direction, std::uint64_t max_file_bytes = 10ull << 20);
  Writer(std::filesystem::path dir, FileKind kind, std::uint64_t max_file_bytes = 10ull << 20);
  Writer(std::filesystem::path dir, FileKind kind, WriterOptions options);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void write(const Line& line);
  /// Writes one formatted line (CRLF included) stamped `time` (which picks the file's hour).
  /// False when it was dropped (the directory or file could not be written, or a recent failure
  /// has not yet been retried).
  bool write_text(std::chrono::system_clock::time_point time, std::string_view text);
  /// Lines dropped so far because they could not be written.
  std::uint64_t dropped() const;
  /// Path of the file being written (empty before the first write, and while writing fails).
  std::filesystem::path current_file() const;
  const std::filesystem::path& dir() const { return dir_; }
  const FileKind& kind() const { return kind_; }
  /// Called (on the writing thread, under the writer's lock: it must be quick and must not write)
  /// each time a new file is started: how retention (retention.h) learns of a roll.
  void set_new_file_hook(std::function<void()> hook);

 private:
  /// Opens the next free file for the hour of `now`; false (and `failure_` set) on failure.
  bool open_for(std::chrono::system_clock::time_point now);
  /// Appends `text` to the open file; on failure takes back what was written, closes the file
  /// (removing it when it holds no line) and sets `failure_`.
  bool append(std::string_view text);
  bool write_bytes(int fd, std::string_view data);
  void close_file();
  /// Counts a dropped line, and says so on stderr when it starts and once per report interval.
  void drop(std::chrono::steady_clock::time_point now);
  std::filesystem::path dir_;
  FileKind kind_;
  WriterOptions options_;
  mutable std::mutex mutex_;
  int fd_ = -1;  ///< O_APPEND: one write(2) per line keeps lines whole
  std::filesystem::path path_;
  std::string hour_;    ///< yyyymmddhh of the last file opened or tried
  int next_index_ = 1;  ///< where the search for a free <n> of hour_ starts
  std::uint64_t bytes_ = 0;
  std::uint64_t header_bytes_ = 0;
  std::uint64_t dropped_ = 0;
  // While failing: why, when the next line may try again, and what the next report says.
  bool failing_ = false;
  std::string failure_;
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::steady_clock::time_point report_at_{};
  std::uint64_t unreported_ = 0;
  std::uint64_t dropped_when_failing_began_ = 0;
  std::function<void()> new_file_hook_;
};

/// Numbers the lines of one session (from 0, as Exchange does) and fills the fields that do not
/// change. A null writer makes every call a no-op, so sessions work with logging disabled.
class SessionLog {
 public:
  SessionLog(Writer* writer, std::string connector, std::string session_id, std::string local_endpoint,
             std::string remote_endpoint);
  void connect();
  /// `reason` goes in context: "Local", "Remote", "Timeout" or "Shutdown" (docs/protocol-log.md).
  void disconnect(std::string_view reason = {});
  void sent(std::string_view data);      ///< a reply or command we sent
  void received(std::string_view data);  ///< a command or reply we read
  void info(std::string_view context);   ///< informational text: data empty, text in context
  void info_value(std::string_view data, std::string_view context);  ///< e.g. thumbprint lines
  const std::string& session_id() const { return session_id_; }
  const std::string& local_endpoint() const { return local_; }

 private:
  void emit(Event event, std::string_view data, std::string_view context);
  Writer* writer_;
  std::string connector_, session_id_, local_, remote_;
  int sequence_ = 0;
};

}  // namespace sluice::protocol_log
