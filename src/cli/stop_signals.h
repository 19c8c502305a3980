// SIGINT and SIGTERM (stop) and SIGHUP (reload) for `sluice serve`, taken by one thread with sigwait() instead of
// asio::signal_set. The set restores the default action when it is destroyed, so a signal
// repeated while the process tore down after a clean stop killed it (exit by signal 15 instead
// of 0, seen in CI). Here they stay blocked in every thread for the whole run: one that arrives
// after the stop is decided stays pending and goes away with the process.
#pragma once
#include <asio/any_io_executor.hpp>

#include <atomic>
#include <functional>
#include <thread>

namespace sluice::cli {

class StopSignals {
 public:
  /// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread, hence in every thread it starts later:
  /// construct before any other thread exists.
  StopSignals();
  /// Calls stop().
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  /// From now on each signal runs `handler(number)` on `executor`.
  void start(asio::any_io_executor executor, std::function<void(int)> handler);
  /// Ends the waiting thread; call before the executor's context goes away. The signals stay
  /// blocked.
  void stop();

 private:
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace sluice::cli
