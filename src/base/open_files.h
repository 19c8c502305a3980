// The process's open-file limit (RLIMIT_NOFILE) and how many sessions it leaves room for. Every
// session is a descriptor (two while its message streams to the spool); when they run out,
// accept() fails with EMFILE and a client gets no banner at all, so the gateway refuses sessions
// while it still has descriptors to answer with.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sluice {

struct OpenFileLimit {
  std::uint64_t soft_before = 0;  ///< the soft limit the process started with
  std::uint64_t soft = 0;         ///< now
  std::uint64_t hard = 0;
};

/// Raises the soft open-file limit to the hard limit (the usual soft limit of 1024 would cap a
/// gateway far below what one event loop serves) and says what it was and is.
OpenFileLimit raise_open_file_limit();

/// Descriptors this process has open now (the entries of /proc/self/fd); 0 when unknown.
std::size_t open_descriptors();

/// Descriptors kept for everything but receive sessions, beyond `max_deliveries` outbound
/// connections: spool and Maildir files being written (32 group-commit and 4 disk threads, a file
/// and a directory each), protocol and tracking logs, DNS sockets, control clients, refusals in flight.
inline constexpr std::size_t kDescriptorsBesidesSessions = 128;

/// A receive session's socket, and in DATA the spool file its message streams into (queue/message_draft.h).
inline constexpr std::size_t kDescriptorsPerSession = 2;

/// How many receive sessions fit under `soft_limit` when `open_now` descriptors are open and the
/// rest of the gateway needs `max_deliveries` + kDescriptorsBesidesSessions, each session taking
/// kDescriptorsPerSession; at least half of what is free goes to sessions when the limit is too low
/// for that (at least 1).
std::size_t sessions_within(std::uint64_t soft_limit, std::size_t open_now, std::size_t max_deliveries);

/// The open-file limit that leaves room for `sessions` (the inverse of sessions_within): what to
/// tell an administrator whose limit holds fewer than max_connections.
std::uint64_t descriptors_for(std::size_t sessions, std::size_t open_now, std::size_t max_deliveries);

}  // namespace sluice
