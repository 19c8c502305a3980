#include "ack_log.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace sluice::bench {

std::string ack_line(std::string_view message_id, double ms, unsigned attempt, std::string_view reply) {
  std::string text(reply);
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return fmt::format("{}\t{:.3f}\t{}\t{}\n", message_id, ms, attempt, text);
}

AckLog::AckLog(const std::string& path) : file_(std::fopen(path.c_str(), "w")) {
  if (!file_) throw std::runtime_error(fmt::format("--ack-log {}: {}", path, std::strerror(errno)));
}

AckLog::~AckLog() { std::fclose(file_); }

void AckLog::record(std::string_view message_id, double ms, unsigned attempt, std::string_view reply) {
  std::string line = ack_line(message_id, ms, attempt, reply);
  std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

}  // namespace sluice::bench
