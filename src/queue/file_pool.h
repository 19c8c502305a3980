// Files of removed messages, kept to be overwritten by new ones. Creating a file allocates an
// inode, and under load that is the dear part of a store: on ext4 without a journal the
// allocator reads inode-table blocks to skip every inode freed in the last minute, and each
// create in the spool directory holds the directory's lock meanwhile, so concurrent stores
// queue behind it (perf during a 32-session load: 40 % of the server's time in
// recently_deleted and the lock spinning behind it). A removed message's files are renamed to
// ".free.<random>" instead, and the next store overwrites one and renames it into place.
#pragma once
#include <cstddef>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "base/result.h"

namespace sluice::queue {

class FilePool {
 public:
  /// Files larger than this are unlinked rather than kept: a pooled file holds its old blocks
  /// until it is overwritten.
  static constexpr std::uintmax_t kMaxKeptSize = 1 << 20;

  /// Pools files in `dir`, at most `capacity` of them.
  FilePool(std::filesystem::path dir, std::size_t capacity);
  FilePool(const FilePool&) = delete;
  FilePool& operator=(const FilePool&) = delete;

  /// True for names this pool gives its files: ".free." followed by anything.
  static bool is_pool_name(std::string_view file_name);

  /// A pooled file to overwrite (it leaves the pool), or nullopt when there is none.
  std::optional<std::filesystem::path> take();
  /// Takes `file` (a regular file in dir) away from its name: renamed into the pool, or
  /// unlinked when the pool is full or the file is large. Fails with the rename's or unlink's
  /// error; no_such_file_or_directory when `file` did not exist.
  Result<void, std::error_code> recycle(const std::filesystem::path& file);
  /// Puts a file already carrying a pool name (found at startup) back in the pool; false when
  /// the pool is full or the file is large (the caller removes it).
  bool adopt(const std::filesystem::path& file);

 private:
  /// Whether `file` may join the pool: small enough, and the pool not full.
  bool has_room_for(const std::filesystem::path& file) const;
  std::filesystem::path next_name();

  std::filesystem::path dir_;
  std::size_t capacity_;
  std::string prefix_;  ///< ".free.<random per pool>." so names from earlier runs never clash
  mutable std::mutex mutex_;
  std::vector<std::filesystem::path> files_;
  std::size_t counter_ = 0;
};

}  // namespace sluice::queue
