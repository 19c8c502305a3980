// The demo's child processes: the two `sluice serve` gateways it supervises and the `sluice
// queue` commands it runs, each started from the very binary the demo is, on loopback ports.
#pragma once
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "demo/interrupt.h"

namespace sluice::demo {

namespace fs = std::filesystem;

/// The running binary (readlink of /proc/self/exe), so the demo starts the very sluice it is.
fs::path self_executable();

struct ChildResult {
  int exit_status = -1;  ///< exit code; -1 when killed by a signal, 127 when exec failed
  bool timed_out = false;
  std::string output;  ///< stdout and stderr, interleaved as written
};
/// Runs `exe args...` (argv[0] is "sluice"), collecting its output; killed after `timeout`. Its
/// stdin is `input` (a few lines at most: written whole before it starts), else /dev/null.
ChildResult run_child(const fs::path& exe, const std::vector<std::string>& args, Millis timeout,
                      std::string_view input = {});

/// One `sluice serve --config FILE` child (or another server the demo runs, such as Dovecot), its
/// stdout and stderr appended to `log_file`. Its own process group (a terminal's Ctrl-C reaches
/// the demo, which stops it in order) and PDEATHSIG (it dies with the demo even if the demo is
/// killed outright).
class ServeProcess {
 public:
  ServeProcess(std::string name, fs::path exe, fs::path config, fs::path log_file);
  /// Another server: `program args...`, ready when start_until()'s test says so.
  static std::unique_ptr<ServeProcess> other(std::string name, fs::path program, std::vector<std::string> args,
                                             fs::path log_file);
  ~ServeProcess();  ///< SIGTERM, then SIGKILL after 5 s, if still running
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  /// Starts and waits until stderr says "listening on <e> " for every endpoint in `endpoints`
  /// ("127.0.0.1:2525"). Fails, saying why, when it exits or times out.
  Result<void> start(const std::vector<std::string>& endpoints, Millis timeout);
  /// Starts and waits until `ready()`. Fails, saying why, when it exits or times out ("did not
  /// `waiting_for` within 20 s").
  Result<void> start_until(const std::function<bool()>& ready, std::string_view waiting_for, Millis timeout);
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
  std::vector<std::string> argv_;  ///< argv[0] first
  pid_t pid_ = -1;
  std::uintmax_t log_offset_ = 0;
  int last_status_ = -1;  ///< exit status, or -1 when killed by a signal
  int last_signal_ = 0;
};

/// A loopback TCP port that nobody listens on right now (bound to port 0, then released), for a
/// gateway to listen on.
std::uint16_t free_port();
/// `count` free_port()s, all different: each is released before the next is picked, so the kernel
/// may hand out the same one again (asked again until it is new).
std::vector<std::uint16_t> distinct_free_ports(std::size_t count);
/// Whether something accepts TCP connections on 127.0.0.1:`port` now (connects and closes).
bool accepts_connections(std::uint16_t port);

}  // namespace sluice::demo
