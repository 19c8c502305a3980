// The spool: accepted messages on disk, durable before their "250" (docs/queue.md).
#pragma once
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "base/atomic_file.h"
#include "queue/envelope.h"

namespace sluice::queue {

/// One message is to be stored by store_batch(); `result` is its outcome.
struct StoreRequest {
  const Envelope* envelope = nullptr;
  std::string_view message;
  std::error_code result;
};

/// Runs task(0) ... task(count - 1), possibly at the same time, and returns when all have
/// returned. Tasks do not throw. The default (an empty function) runs them one after another.
using ParallelRunner = std::function<void(std::size_t count, const std::function<void(std::size_t)>& task)>;

/// One message is two files in <dir>: "<id>.eml" (the message as received, with our Received
/// header) and "<id>.json" (the envelope), content durable and in place before the envelope.
/// The envelope's presence is the commit: an "<id>.eml" without its ".json" is a write that a
/// crash cut short, never acknowledged, and is removed by recover().
/// Ids must satisfy valid_queue_id() (they become file names); every method refuses others.
/// One Spool per directory and process: nothing here locks against a second writer.
class Spool {
 public:
  /// Creates dir (mode 0750) if needed and fsyncs its parent; throws
  /// std::filesystem::filesystem_error on failure or when dir exists but is not a directory.
  explicit Spool(std::filesystem::path dir);
  /// The same, creating files through `open_new` (a test seam, see FileOpener).
  Spool(std::filesystem::path dir, FileOpener open_new);

  /// Durably stores the message. On error (disk full, permissions) nothing of it remains.
  /// std::errc::invalid_argument for a bad id, std::errc::illegal_byte_sequence when the
  /// reverse-path or a recipient is not valid UTF-8 (JSON cannot hold it unaltered). The id
  /// must be new: an existing message with the same id is overwritten.
  std::error_code store(const Envelope& envelope, std::string_view message);
  /// Stores several messages with one pair of directory fsyncs for all of them (group commit):
  /// every file is written to a temporary name and fsynced (the 2N writes through `run`, so
  /// their fsyncs can overlap), the contents are renamed into place, the directory is fsynced,
  /// the envelopes are renamed into place (the commit points), the directory is fsynced again.
  /// Each request's `result` is what store() would have returned for it alone; a message whose
  /// result is an error left nothing behind. Requests may not share an id.
  void store_batch(std::span<StoreRequest> requests, const ParallelRunner& run = {});
  /// Rewrites the envelope (state changes) durably. std::errc::no_such_file_or_directory when
  /// the message's content is gone (never re-commit a removed message).
  std::error_code update(const Envelope& envelope);
  /// Nullopt when missing, unreadable, malformed, or when the file's "id" differs from `id`.
  std::optional<Envelope> load_envelope(const std::string& id) const;
  std::optional<std::string> load_message(const std::string& id) const;
  /// Removes both files: the envelope, an fsync of the directory (so the message is gone for
  /// good before its content is: a crash never leaves an envelope without content), then the
  /// content, whose unlink needs no fsync (a resurrected "<id>.eml" is an orphan for recover()).
  /// std::errc::no_such_file_or_directory when neither file existed.
  std::error_code remove(const std::string& id);
  /// remove() for many messages with one directory fsync; one result per id, in order.
  std::vector<std::error_code> remove_batch(const std::vector<std::string>& ids);
  /// Ids of committed messages (those with an envelope file), oldest "received" first, ties by
  /// id. Envelopes that fail to load come first, so the caller sees and reports them.
  std::vector<std::string> list() const;
  /// Removes orphaned content files and temporary files left by a crash; returns how many.
  /// Run it at startup, before accepting mail: a store() in progress looks like an orphan.
  std::size_t recover();

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  FileOpener open_new_;
  /// Every fsync of dir_ goes through here, so concurrent stores, updates and removals (the
  /// inbound group commit and the delivery engine) share them.
  std::unique_ptr<DirectorySync> dir_sync_;
};

// envelope_to_json() and envelope_from_json() are declared in queue/envelope.h.

}  // namespace sluice::queue
