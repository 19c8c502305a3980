#include "demo/interrupt.h"

#include <csignal>
#include <thread>

namespace sluice::demo {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;

void on_signal(int) { g_interrupted = 1; }

}  // namespace

void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocking call returns EINTR and the wait sees the flag
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

bool interrupted() { return g_interrupted != 0; }

void check_interrupted() {
  if (g_interrupted) throw Interrupted();
}

void nap(Millis duration) {
  check_interrupted();
  std::this_thread::sleep_for(duration);
  check_interrupted();
}

bool wait_until(const std::function<bool()>& ready, Millis timeout, Millis poll) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    check_interrupted();
    if (ready()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    nap(poll);
  }
}

}  // namespace sluice::demo
