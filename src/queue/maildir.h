// Local delivery into Maildirs (one per local mailbox) under the state directory.
#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>

#include "base/atomic_file.h"
#include "base/result.h"

namespace sluice::queue {

/// <root>/<mailbox>/{tmp,new,cur}. The mailbox folder is the recipient's local part, lower-cased,
/// with any byte outside [a-z0-9._+-] written as %XX (so no address can name a path outside
/// root), e.g. "bob@localhost" -> <root>/bob.
class MaildirStore {
 public:
  explicit MaildirStore(std::filesystem::path root);
  /// The same, creating message files through `open_new` (a test seam, see FileOpener).
  MaildirStore(std::filesystem::path root, FileOpener open_new);

  /// Folder name for a local part: "Bob" -> "bob", "a/b" -> "a%2Fb", a leading dot -> "%2E",
  /// "" -> "%empty" (no encoding produces that). Never ".", ".." or a path with '/'.
  static std::string mailbox_folder(std::string_view local_part);

  /// Delivers `message` with "Delivered-To: <recipient>\r\n" prepended: write in tmp/, fsync,
  /// rename into new/ under a unique name "<sec>.M<usec>P<pid>Q<n>.<host>", fsync new/ (one
  /// fsync of new/ serves every delivery to that mailbox waiting for it: DirectorySync). Creates
  /// root (and its parent's entry), the mailbox and tmp/new/cur on first use, fsyncing each
  /// parent. Returns the delivered file's path. On error nothing is left in tmp/ or new/;
  /// std::errc::invalid_argument when `recipient` contains CR or LF (header injection).
  Result<std::filesystem::path, std::error_code> deliver(std::string_view recipient_local_part,
                                                         std::string_view recipient, std::string_view message);

 private:
  DirectorySync& new_directory_sync(const std::filesystem::path& new_dir);

  std::filesystem::path root_;
  FileOpener open_new_;
  std::mutex syncs_mutex_;
  std::map<std::filesystem::path, std::unique_ptr<DirectorySync>> new_syncs_;  ///< by new/ path
};

}  // namespace sluice::queue
