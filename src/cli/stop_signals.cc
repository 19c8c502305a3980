#include "cli/stop_signals.h"

#include <asio/post.hpp>

#include <pthread.h>

#include <csignal>
#include <utility>

namespace sluice::cli {

namespace {
sigset_t stop_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}
}  // namespace

StopSignals::StopSignals() {
  sigset_t set = stop_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

StopSignals::~StopSignals() { stop(); }

void StopSignals::start(asio::any_io_executor executor, std::function<void(int)> handler) {
  thread_ = std::thread([this, executor = std::move(executor), handler = std::move(handler)] {
    const sigset_t set = stop_set();
    for (;;) {
      int number = 0;
      if (sigwait(&set, &number) != 0) continue;
      if (stopping_.load()) return;
      asio::post(executor, [handler, number] { handler(number); });
    }
  });
}

void StopSignals::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  // Directed at the waiting thread alone; it sees stopping_ and returns.
  pthread_kill(thread_.native_handle(),
               SIGTERM);  // NOLINT(bugprone-bad-signal-to-kill-thread): it wakes sigwait, the thread returns
  thread_.join();
}

}  // namespace sluice::cli
