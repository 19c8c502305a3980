#include "queue/message_draft.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace sluice::queue {

namespace {
std::error_code errno_code() { return {errno, std::system_category()}; }
}  // namespace

MessageDraft::MessageDraft(std::filesystem::path dir, std::string id, FilePool* pool, FileOpener open_new)
    : dir_(std::move(dir)), id_(std::move(id)), pool_(pool), open_new_(std::move(open_new)) {}

MessageDraft::MessageDraft(MessageDraft&& other) noexcept { *this = std::move(other); }

MessageDraft& MessageDraft::operator=(MessageDraft&& other) noexcept {
  if (this == &other) return *this;
  discard();
  dir_ = std::move(other.dir_);
  id_ = std::move(other.id_);
  pool_ = other.pool_;
  open_new_ = std::move(other.open_new_);
  fd_ = std::exchange(other.fd_, -1);
  path_ = std::exchange(other.path_, {});
  from_pool_ = other.from_pool_;
  size_ = std::exchange(other.size_, 0);
  error_ = std::exchange(other.error_, {});
  return *this;
}

std::error_code MessageDraft::open() {
  if (pool_) {
    while (auto reused = pool_->take()) {
      // Written over from the start, not truncated: the file keeps its blocks (see
      // overwrite_file_synced); seal() cuts what is left of the old content.
      fd_ = ::open(reused->c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
      if (fd_ >= 0) {
        path_ = std::move(*reused);
        from_pool_ = true;
        return {};
      }
      std::error_code ec = errno_code();
      ::unlink(reused->c_str());
      // Gone (someone cleaned up): try the next. Anything else would fail a new file just the same.
      if (ec != std::errc::no_such_file_or_directory) return ec;
    }
  }
  auto file = create_temp_file(dir_, id_ + ".eml", open_new_);
  if (!file) return file.error();
  fd_ = file->fd;
  path_ = std::move(file->path);
  from_pool_ = false;
  return {};
}

Result<void, std::error_code> MessageDraft::append(std::string_view data) {
  if (!error_ && fd_ < 0 && path_.empty()) error_ = open();
  if (!error_ && fd_ < 0) error_ = std::make_error_code(std::errc::bad_file_descriptor);  // sealed already
  if (!error_ && !data.empty()) {
    error_ = write_all(fd_, data);
    if (!error_) size_ += data.size();
  }
  return as_result(error_);
}

Result<std::filesystem::path, std::error_code> MessageDraft::seal(std::string_view tail) {
  if (auto appended = append(tail); !appended) return fail(appended.error());
  struct stat st {};
  std::error_code ec;
  if (::fstat(fd_, &st) != 0) ec = errno_code();
  if (!ec && st.st_size > static_cast<off_t>(size_) && ::ftruncate(fd_, static_cast<off_t>(size_)) != 0)
    ec = errno_code();
  if (!ec && ::fdatasync(fd_) != 0) ec = errno_code();
  // close() can report a deferred write error (NFS, quotas): a file we cannot vouch for is not
  // committed.
  if (::close(std::exchange(fd_, -1)) != 0 && !ec) ec = errno_code();
  if (ec) {
    error_ = ec;
    return fail(ec);
  }
  return path_;
}

void MessageDraft::release() {
  close_file();
  path_.clear();
}

void MessageDraft::close_file() {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

void MessageDraft::discard() {
  close_file();
  if (!path_.empty()) {
    // A recycled file goes back to the pool (adopt() refuses a large one). A file created for
    // this draft, or one a write failed on (a full disk), is unlinked: its blocks are freed, and
    // a refused message costs no more disk afterwards than before it came.
    if (!from_pool_ || error_ || !pool_->adopt(path_)) ::unlink(path_.c_str());
    path_.clear();
  }
  size_ = 0;
  error_ = {};
}

}  // namespace sluice::queue
