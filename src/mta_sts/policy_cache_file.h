// A cached MTA-STS policy on disk (<state_dir>/mta-sts/<domain>.json), so that a policy outlives
// a restart as RFC 8461 5.1 expects of a cache: the policy text as fetched, the TXT id it was
// fetched for and when.
#pragma once
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "base/result.h"
#include "mta_sts/policy.h"

namespace sluice::mta_sts {

struct CacheEntry {
  Policy policy;  ///< with id and text
  std::chrono::system_clock::time_point fetched_at;
};

/// "<domain>.json" for a domain of letters, digits, '-', '_' and '.' (not first); nullopt for any
/// other name, which is then cached in memory only.
std::optional<std::string> cache_file_name(const std::string& domain);

/// Writes the entry atomically (base/atomic_file.h), creating `dir` when needed.
Result<void> write_cache_file(const std::filesystem::path& dir, const std::string& domain, const CacheEntry& entry);

/// Reads an entry back; the policy text is parsed again. No file: nullopt. A damaged file: an error.
Result<std::optional<CacheEntry>> read_cache_file(const std::filesystem::path& dir, const std::string& domain);

}  // namespace sluice::mta_sts
