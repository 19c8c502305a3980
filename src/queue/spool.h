// The spool: accepted messages on disk, durable before their "250" (docs/queue.md).
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "base/atomic_file.h"
#include "queue/envelope.h"

namespace sluice::queue {

/// One message is two files in <dir>: "<id>.eml" (the message as received, with our Received
/// header) and "<id>.json" (the envelope), each written with write_file_durably, content first.
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
  /// Rewrites the envelope (state changes) durably. std::errc::no_such_file_or_directory when
  /// the message's content is gone (never re-commit a removed message).
  std::error_code update(const Envelope& envelope);
  /// Nullopt when missing, unreadable, malformed, or when the file's "id" differs from `id`.
  std::optional<Envelope> load_envelope(const std::string& id) const;
  std::optional<std::string> load_message(const std::string& id) const;
  /// Removes both files (envelope first, so a crash in between leaves an orphan, not a ghost).
  /// std::errc::no_such_file_or_directory when neither file existed.
  std::error_code remove(const std::string& id);
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
};

// envelope_to_json() and envelope_from_json() are declared in queue/envelope.h.

}  // namespace sluice::queue
