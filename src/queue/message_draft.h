// A message's content written to the spool while DATA is still arriving, so that a session holds
// a fixed buffer instead of the whole message (docs/queue.md, "Streaming a message in").
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "base/atomic_file.h"
#include "base/result.h"
#include "queue/file_pool.h"

namespace sluice::queue {

/// The file a message's content goes to before it is committed: a recycled file from the spool's
/// FilePool (written over) or a new temporary file ".tmp.<id>.eml.<random>", opened by the first
/// append(). It never carries the message's final name until Spool::store_batch seals it, renames
/// it and commits the envelope; a crash before that leaves only a name recover() cleans up.
/// Whatever is not committed is removed when the draft is discarded or destroyed: a recycled file
/// goes back to the pool when it is small and no write to it failed, anything else is unlinked.
/// Not thread-safe: one caller at a time (the session awaits each append before the next).
class MessageDraft {
 public:
  MessageDraft() = default;
  /// A draft in `dir` for message `id`, taking files from `pool` (null: always a new file,
  /// created through `open_new`, as Spool does when it has a test FileOpener).
  MessageDraft(std::filesystem::path dir, std::string id, FilePool* pool, FileOpener open_new);
  MessageDraft(MessageDraft&& other) noexcept;
  MessageDraft& operator=(MessageDraft&& other) noexcept;
  MessageDraft(const MessageDraft&) = delete;
  MessageDraft& operator=(const MessageDraft&) = delete;
  ~MessageDraft() { discard(); }

  /// Writes `data` after what was written before (nothing is synced yet). After a failure
  /// nothing more is written: this and every later call return the first error.
  Result<void, std::error_code> append(std::string_view data);
  /// Octets written so far.
  std::uint64_t size() const { return size_; }
  /// True while the draft holds a file (open, or sealed and not yet committed).
  bool has_file() const { return !path_.empty(); }
  /// Removes the file (see the class comment); the draft is then empty. Safe to repeat.
  void discard();

  /// Spool::store_batch's part: appends `tail`, cuts a recycled file to the length written,
  /// fdatasyncs and closes it, and returns its path for the rename. On failure the draft still
  /// owns the file (discard() removes it).
  Result<std::filesystem::path, std::error_code> seal(std::string_view tail);
  /// After the rename: the file is the spool's now, not the draft's to remove.
  void release();

 private:
  /// Opens the file: a pool file when there is one, else a new temporary file.
  std::error_code open();
  void close_file();

  std::filesystem::path dir_;
  std::string id_;
  FilePool* pool_ = nullptr;
  FileOpener open_new_;
  int fd_ = -1;
  std::filesystem::path path_;
  bool from_pool_ = false;  ///< path_ was taken from pool_
  std::uint64_t size_ = 0;
  std::error_code error_;
};

}  // namespace sluice::queue
