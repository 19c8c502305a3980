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
#include "base/result.h"
#include "queue/envelope.h"
#include "queue/file_pool.h"
#include "queue/message_draft.h"

namespace sluice::queue {

/// One message is to be stored by store_batch(); `result` is its outcome.
struct StoreRequest {
  const Envelope* envelope = nullptr;
  /// The content; with a draft, what comes after what the draft holds already.
  std::string_view message;
  Result<void, std::error_code> result;
  /// The content written so far (a message streamed in by a session); null: all of it is in
  /// `message`. The store commits its file or, on failure, discards it.
  MessageDraft* draft = nullptr;
};

/// Runs task(0) ... task(count - 1), possibly at the same time, and returns when all have
/// returned. Tasks do not throw. The default (an empty function) runs them one after another.
using ParallelRunner = std::function<void(std::size_t count, const std::function<void(std::size_t)>& task)>;

/// One message is two files in <dir>: "<id>.eml" (the message as received, with our Received
/// header) and "<id>.json" (the envelope), both durable before the store returns. A message is
/// committed when both names are in place; one file without the other is a store or a removal
/// that a crash cut short (never acknowledged, or already delivered), and recover() removes it.
/// Ids must satisfy valid_queue_id() (they become file names); every method refuses others.
/// One Spool per directory and process: nothing here locks against a second writer.
class Spool {
 public:
  /// Creates dir (mode 0750) if needed and fsyncs its parent; throws
  /// std::filesystem::filesystem_error on failure or when dir exists but is not a directory.
  explicit Spool(std::filesystem::path dir);
  /// The same, creating files through `open_new` (a test seam, see FileOpener).
  Spool(std::filesystem::path dir, FileOpener open_new);

  /// Durably stores the message. On error (disk full, permissions) nothing of it remains; the
  /// error is errno's (callers compare it with std::errc): std::errc::invalid_argument for a bad id,
  /// std::errc::illegal_byte_sequence when the reverse-path or a recipient is not valid UTF-8 (JSON cannot hold it
  /// unaltered). The id must be new: an existing message with the same id is overwritten.
  /// With a `draft` (see StoreRequest), `message` is the rest of the content after the draft's.
  Result<void, std::error_code> store(const Envelope& envelope, std::string_view message,
                                      MessageDraft* draft = nullptr);
  /// A draft for message `id`'s content, to be written while it arrives and then passed to
  /// store() or store_batch() (queue/message_draft.h). No file exists until its first append.
  MessageDraft draft(std::string_view id);
  /// Stores several messages with one directory fsync for all of them (group commit): every
  /// file is written to a temporary name (or a draft's file completed) and fsynced (the 2N
  /// writes through `run`), each
  /// message's content then envelope is renamed into place, and one fsync of the directory makes
  /// all the renames durable.
  /// Each request's `result` is what store() would have returned for it alone; a message whose
  /// result is an error left nothing behind. Requests may not share an id.
  void store_batch(std::span<StoreRequest> requests, const ParallelRunner& run = {});
  /// Rewrites the envelope (state changes) durably. std::errc::no_such_file_or_directory when
  /// the message's content is gone (never re-commit a removed message).
  Result<void, std::error_code> update(const Envelope& envelope);
  /// Fails when the id is invalid, the file is missing or unreadable, malformed, or names
  /// another message (its "id" differs): the error says which.
  Result<Envelope> load_envelope(const std::string& id) const;
  std::optional<std::string> load_message(const std::string& id) const;
  /// Removes both files, the envelope first, without an fsync: a crash that undoes the removal
  /// brings back a delivered message (delivered again: the duplicate window) or half of one
  /// (removed by recover()). The files are recycled (FilePool) for later stores, not unlinked.
  /// std::errc::no_such_file_or_directory when neither file existed.
  Result<void, std::error_code> remove(const std::string& id);
  /// remove() for many messages; one result per id, in order.
  std::vector<Result<void, std::error_code>> remove_batch(const std::vector<std::string>& ids);
  /// Ids of committed messages (those with an envelope file), oldest "received" first, ties by
  /// id. Envelopes that fail to load come first, so the caller sees and reports them.
  std::vector<std::string> list() const;
  /// Ids of committed messages without reading their envelopes, in id order (ids start with
  /// their process's start time: roughly arrival order). One directory read: the gateway lists
  /// 100,000 messages this way in a fraction of a second and reads the envelopes later.
  std::vector<std::string> ids() const;
  /// Removes temporary files and half messages (content without envelope, envelope without
  /// content) left by a crash; returns how many files. Recycled files from the last run go back
  /// into the pool (those beyond its capacity are removed, uncounted).
  /// Run it at startup, before accepting mail: a store() in progress looks like an orphan.
  std::size_t recover();

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  FileOpener open_new_;
  /// Writes `data`, fsynced, into a file to be renamed to `name`: a recycled one from pool_ when
  /// there is one (not with a test FileOpener), else a new temporary file. Returns its path.
  Result<std::filesystem::path, std::error_code> write_synced(std::string_view name, std::string_view data);

  /// Every fsync of dir_ goes through here, so concurrent stores, updates and removals (the
  /// inbound group commit and the delivery engine) share them.
  std::unique_ptr<DirectorySync> dir_sync_;
  /// Removed messages' files, overwritten by the next stores instead of new files.
  std::unique_ptr<FilePool> pool_;
};

// envelope_to_json() and envelope_from_json() are declared in queue/envelope.h.

}  // namespace sluice::queue
