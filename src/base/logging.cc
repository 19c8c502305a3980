#include "base/logging.h"

#include <fmt/chrono.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <mutex>

namespace sluice {

void log_line(Severity severity, std::string_view text) {
  static std::mutex mutex;
  const char* label = severity == Severity::Info ? "" : severity == Severity::Warning ? "warning: " : "error: ";
  auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  std::string line = fmt::format("{:%Y-%m-%dT%H:%M:%SZ} sluice[{}]: {}{}\n", now, getpid(), label, text);
  std::lock_guard lock(mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace sluice
