// The pieces `sluice demo` is built from: child processes (the two gateways and `sluice queue`),
// a tiny blocking SMTP submitter, and readers for the artefacts an administrator would look at
// (protocol logs, Maildirs, message headers). Kept apart from the scenario so they can be tested.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::cli::demo {

namespace fs = std::filesystem;
using Millis = std::chrono::milliseconds;

// --- Interruption ----------------------------------------------------------------------------

/// Thrown by every wait once SIGINT or SIGTERM arrived, so the stack unwinds and the gateways'
/// destructors stop them.
struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted") {}
};

/// Installs SIGINT/SIGTERM handlers that only set a flag (without SA_RESTART, so blocking calls
/// return EINTR), and ignores SIGPIPE (a peer closing a socket is an error result, not a death).
void install_interrupt_handlers();
bool interrupted();
/// Throws Interrupted when a signal arrived.
void check_interrupted();
/// Sleeps, waking for signals.
void nap(Millis duration);
/// Calls `ready` every `poll` until it returns true (true) or `timeout` passes (false).
bool wait_until(const std::function<bool()>& ready, Millis timeout, Millis poll = Millis(100));

// --- Processes ---------------------------------------------------------------------------------

/// The running binary (readlink of /proc/self/exe), so the demo starts the very sluice it is.
fs::path self_executable();

struct ChildResult {
  int exit_status = -1;  ///< exit code; -1 when killed by a signal, 127 when exec failed
  bool timed_out = false;
  std::string output;    ///< stdout and stderr, interleaved as written
};
/// Runs `exe args...` (argv[0] is "sluice"), collecting its output; killed after `timeout`.
ChildResult run_child(const fs::path& exe, const std::vector<std::string>& args, Millis timeout);

/// One `sluice serve --config FILE` child, its stderr appended to `log_file`. Its own process
/// group (a terminal's Ctrl-C reaches the demo, which stops it in order) and PDEATHSIG (it dies
/// with the demo even if the demo is killed outright).
class ServeProcess {
 public:
  ServeProcess(std::string name, fs::path exe, fs::path config, fs::path log_file);
  ~ServeProcess();  ///< SIGTERM, then SIGKILL after 5 s, if still running
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  /// Starts and waits until stderr says "listening on <e> " for every endpoint in `endpoints`
  /// ("127.0.0.1:2525"). False (with the reason in `why`) when it exits or times out.
  bool start(const std::vector<std::string>& endpoints, Millis timeout, std::string& why);
  /// SIGTERM and wait. The exit status, or nullopt when it had to be killed.
  std::optional<int> stop(Millis timeout);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }
  const fs::path& config() const { return config_; }
  /// stderr of the current (or last) run.
  std::string log_of_this_run() const;
  /// Non-blocking: reaps the child if it exited; true while it runs.
  bool alive();
  /// How the last run ended: "exited with status 2", "was killed by signal 6 (Aborted)".
  std::string exit_description() const;

 private:
  std::string name_;
  fs::path exe_, config_, log_file_;
  pid_t pid_ = -1;
  std::uintmax_t log_offset_ = 0;
  int last_status_ = -1;  ///< exit status, or -1 when killed by a signal
  int last_signal_ = 0;
};

/// A loopback TCP port that nobody listens on right now (bound to port 0, then released).
std::uint16_t free_port();

// --- SMTP submission ---------------------------------------------------------------------------

struct SubmitResult {
  bool accepted = false;               ///< the end of DATA got 250
  std::string queue_id;                ///< from "250 2.6.0 <id> Queued mail for delivery", if present
  std::vector<std::string> transcript;  ///< "C: MAIL FROM:<...>" / "S: 250 2.1.0 Sender OK"
  std::string error;                   ///< why not accepted
};
/// A plain (no TLS) SMTP transaction to 127.0.0.1:`port`: EHLO, MAIL, RCPT, DATA, QUIT, each
/// reply awaited; `message` has LF or CRLF line ends (sent as CRLF, dot-stuffed).
SubmitResult submit_message(std::uint16_t port, const std::string& helo, const std::string& from,
                            const std::string& to, const std::string& message, Millis timeout);

/// The queue id in a "250 2.6.0 0005F1A2B3C40001 Queued mail for delivery" reply text: the first
/// word of 8 to 64 upper-case hex digits or ASCII letters and digits after the code; "" if none.
std::string queue_id_from_reply(std::string_view reply);

// --- Artefacts ---------------------------------------------------------------------------------

/// The protocol log files in `dir` whose names start with `prefix` ("SEND", "RECV"), in the order
/// they were written: by hour, then by their -<n> index (numerically: -10 after -9).
std::vector<fs::path> protocol_log_files(const fs::path& dir, std::string_view prefix);
/// Every data line (no "#" header lines, no CR/LF) of those files, in order.
std::vector<std::string> protocol_log_lines(const fs::path& dir, std::string_view prefix);

/// Reads protocol log lines incrementally: new_lines() returns those after the mark.
class LogCursor {
 public:
  LogCursor(fs::path dir, std::string prefix) : dir_(std::move(dir)), prefix_(std::move(prefix)) {}
  std::vector<std::string> all() const { return protocol_log_lines(dir_, prefix_); }
  std::vector<std::string> new_lines() const;
  void mark();  ///< later new_lines() start after everything there now
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
  std::string prefix_;
  std::size_t seen_ = 0;
};

/// Lines containing `needle`; case-insensitive when `fold_case`.
std::vector<std::string> grep(const std::vector<std::string>& lines, std::string_view needle, bool fold_case = false);
/// The session id (third CSV field) of a protocol log line; "" when it does not parse.
std::string session_of(const std::string& line);
/// The lines of one session, in order.
std::vector<std::string> session_lines(const std::vector<std::string>& lines, const std::string& session);

/// Files in a Maildir's new/ folder, sorted by name (delivery order).
std::vector<fs::path> maildir_new(const fs::path& maildir);
std::string read_file(const fs::path& path);

/// The first header field `name` (case-insensitive) of the message's header block, unfolded
/// (continuation lines joined with one space); nullopt when absent.
std::optional<std::string> header_value(std::string_view message, std::string_view name);
/// Every "Name: value" field line with this name anywhere in the text (a DSN's
/// message/delivery-status part has them in the body), unfolded, as "Name: value".
std::vector<std::string> field_lines(std::string_view text, std::string_view name);

/// `text` with each non-empty line prefixed by `indent`, each line ending in LF ("" stays "").
std::string indent_lines(std::string_view text, std::string_view indent);

}  // namespace sluice::cli::demo
