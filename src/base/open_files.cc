#include "base/open_files.h"

#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace sluice {

OpenFileLimit raise_open_file_limit() {
  OpenFileLimit out;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return out;
  out.soft_before = out.soft = limit.rlim_cur;
  out.hard = limit.rlim_max;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) == 0) out.soft = limit.rlim_cur;
  }
  return out;
}

std::size_t open_descriptors() {
  std::error_code ec;
  std::size_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++n;
  // The iterator's own descriptor is among the entries.
  return n > 0 ? n - 1 : 0;
}

std::size_t sessions_within(std::uint64_t soft_limit, std::size_t open_now, std::size_t max_deliveries) {
  if (soft_limit <= open_now) return 1;
  const std::uint64_t free = soft_limit - open_now;
  const std::uint64_t besides = std::min<std::uint64_t>(max_deliveries + kDescriptorsBesidesSessions, free / 2);
  return static_cast<std::size_t>(std::max<std::uint64_t>(1, (free - besides) / kDescriptorsPerSession));
}

std::uint64_t descriptors_for(std::size_t sessions, std::size_t open_now, std::size_t max_deliveries) {
  return std::uint64_t{sessions} * kDescriptorsPerSession + open_now + max_deliveries + kDescriptorsBesidesSessions;
}

}  // namespace sluice
