#include "queue/maildir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <utility>

#include <fmt/format.h>

#include "base/atomic_file.h"

namespace sluice::queue {
namespace {

namespace fs = std::filesystem;

std::error_code last_error() { return {errno, std::system_category()}; }

// mkdir that tolerates an existing directory; *created says whether this call made it.
std::error_code ensure_directory(const fs::path& path, bool* created) {
  *created = false;
  if (::mkdir(path.c_str(), 0750) == 0) {
    *created = true;
    return {};
  }
  if (errno != EEXIST) return last_error();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return last_error();
  if (!S_ISDIR(st.st_mode)) return std::make_error_code(std::errc::not_a_directory);
  return {};
}

// A directory entry is only durable once its parent is fsynced, so each directory we create
// is followed by an fsync of the one holding it.
std::error_code ensure_maildir(const fs::path& root, const fs::path& mailbox) {
  std::error_code ec;
  if (fs::create_directories(root, ec)) {
    if ((ec = fsync_parent_directory(root))) return ec;
  } else if (ec) {
    return ec;
  }
  bool created = false;
  if ((ec = ensure_directory(mailbox, &created))) return ec;
  if (created && (ec = fsync_directory(root))) return ec;
  bool any_created = false;
  for (const char* sub : {"tmp", "new", "cur"}) {
    if ((ec = ensure_directory(mailbox / sub, &created))) return ec;
    any_created = any_created || created;
  }
  if (any_created) return fsync_directory(mailbox);
  return {};
}

std::string host_part() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0') return "localhost";
  // The Maildir convention escapes the two characters that would break the file name.
  std::string host;
  for (const char* p = buffer; *p != '\0'; ++p) {
    if (*p == '/')
      host += "\\057";
    else if (*p == ':')
      host += "\\072";
    else
      host += *p;
  }
  return host;
}

std::string unique_name() {
  static std::atomic<unsigned long> counter{0};
  static const std::string host = host_part();
  auto now = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch());
  return fmt::format("{}.M{}P{}Q{}.{}", now.count() / 1000000, now.count() % 1000000, ::getpid(),
                     counter.fetch_add(1) + 1, host);
}

}  // namespace

MaildirStore::MaildirStore(std::filesystem::path root) : root_(std::move(root)) {}

MaildirStore::MaildirStore(std::filesystem::path root, FileOpener open_new)
    : root_(std::move(root)), open_new_(std::move(open_new)) {}

DirectorySync& MaildirStore::new_directory_sync(const std::filesystem::path& new_dir) {
  std::lock_guard lock(syncs_mutex_);
  auto& sync = new_syncs_[new_dir];
  if (!sync) sync = std::make_unique<DirectorySync>(new_dir);
  return *sync;
}

std::string MaildirStore::mailbox_folder(std::string_view local_part) {
  // Cannot come out of the encoding below (a '%' there is always followed by two hex digits).
  if (local_part.empty()) return "%empty";
  std::string folder;
  for (std::size_t i = 0; i < local_part.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(local_part[i]);
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
    bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' || c == '-';
    // A leading dot would allow "." and ".." and hide the folder from ls.
    if (keep && !(i == 0 && c == '.')) {
      folder += static_cast<char>(c);
    } else {
      folder += fmt::format("%{:02X}", c);
    }
  }
  return folder;
}

Result<fs::path, std::error_code> MaildirStore::deliver(std::string_view recipient_local_part,
                                                        std::string_view recipient, std::string_view message) {
  // A line break here would let an address inject header lines.
  if (recipient.find_first_of("\r\n") != std::string_view::npos) {
    return fail(std::make_error_code(std::errc::invalid_argument));
  }
  const fs::path mailbox = root_ / mailbox_folder(recipient_local_part);
  if (std::error_code ec = ensure_maildir(root_, mailbox)) return fail(ec);

  std::string content;
  content.reserve(recipient.size() + message.size() + 16);
  content.append("Delivered-To: ").append(recipient).append("\r\n").append(message);

  std::string name;
  std::error_code ec;
  for (int attempt = 0; attempt < 4; ++attempt) {  // a clash means a reused pid; take a new name
    name = unique_name();
    ec = write_new_file_synced(mailbox / "tmp" / name, content, open_new_);
    if (ec != std::errc::file_exists) break;
  }
  if (ec) return fail(ec);
  const fs::path temp = mailbox / "tmp" / name;
  const fs::path final_path = mailbox / "new" / name;
  if (::rename(temp.c_str(), final_path.c_str()) != 0) {
    ec = last_error();
    ::unlink(temp.c_str());
    return fail(ec);
  }
  if ((ec = new_directory_sync(mailbox / "new").sync())) {
    // We will report failure and the spool will retry, so take the copy back rather than
    // risk delivering twice.
    ::unlink(final_path.c_str());
    return fail(ec);
  }
  return final_path;
}

}  // namespace sluice::queue
