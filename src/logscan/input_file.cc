#include "logscan/input_file.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace sluice::logscan {
namespace {

namespace fs = std::filesystem;

class FdSource : public ByteSource {
 public:
  FdSource(int fd, bool owned, std::uint64_t remaining) : fd_(fd), owned_(owned), remaining_(remaining) {}
  ~FdSource() override {
    if (owned_) ::close(fd_);
  }
  long read(char* buffer, std::size_t size) override {
    if (remaining_ == 0) return 0;
    size = static_cast<std::size_t>(std::min<std::uint64_t>(size, remaining_));
    while (true) {
      ssize_t n = ::read(fd_, buffer, size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error_ = std::strerror(errno);
        return -1;
      }
      if (remaining_ != UINT64_MAX) remaining_ -= static_cast<std::uint64_t>(n);
      return n;
    }
  }

 private:
  int fd_;
  bool owned_;
  std::uint64_t remaining_;  ///< UINT64_MAX: to the end
};

class GzSource : public ByteSource {
 public:
  explicit GzSource(gzFile file) : file_(file) { gzbuffer(file_, 1 << 20); }
  ~GzSource() override { gzclose(file_); }
  long read(char* buffer, std::size_t size) override {
    size = std::min<std::size_t>(size, 1u << 30);
    int n = gzread(file_, buffer, static_cast<unsigned>(size));
    if (n < 0) {
      int code = 0;
      const char* text = gzerror(file_, &code);
      error_ = code == Z_ERRNO ? std::strerror(errno) : std::string(text ? text : "gzip error");
      return -1;
    }
    // A gzip file cut short reads as far as it goes; zlib reports that as Z_BUF_ERROR at the end.
    return n;
  }

 private:
  gzFile file_;
};

bool has_gzip_magic(int fd) {
  unsigned char magic[2];
  ssize_t n = ::pread(fd, magic, 2, 0);
  return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

}  // namespace

bool is_gzip_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool gz = has_gzip_magic(fd);
  ::close(fd);
  return gz;
}

std::unique_ptr<ByteSource> open_source(const std::string& path, std::string& why, std::uint64_t begin,
                                        std::uint64_t end) {
  if (path == "-") {
    // stdin may be gzip too; it cannot be peeked without consuming, so zlib reads it: gzdopen
    // passes plain text through unchanged ("transparent" mode).
    int fd = ::dup(STDIN_FILENO);
    gzFile gz = fd >= 0 ? gzdopen(fd, "rb") : nullptr;
    if (!gz) {
      why = "cannot read stdin";
      if (fd >= 0) ::close(fd);
      return nullptr;
    }
    return std::make_unique<GzSource>(gz);
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    why = std::strerror(errno);
    return nullptr;
  }
  if (has_gzip_magic(fd)) {
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
      ::close(fd);
      why = "cannot open gzip stream";
      return nullptr;
    }
    return std::make_unique<GzSource>(gz);
  }
  if (begin > 0 && ::lseek(fd, static_cast<off_t>(begin), SEEK_SET) < 0) {
    why = std::strerror(errno);
    ::close(fd);
    return nullptr;
  }
  ::posix_fadvise(fd, static_cast<off_t>(begin), end > begin ? static_cast<off_t>(end - begin) : 0,
                  POSIX_FADV_SEQUENTIAL);
  return std::make_unique<FdSource>(fd, true, end > begin ? end - begin : UINT64_MAX);
}

std::vector<InputPath> expand_paths(const std::vector<std::string>& args, std::vector<std::string>& errors) {
  std::vector<InputPath> out;
  for (const auto& arg : args) {
    if (arg == "-") {
      out.push_back({"-", 0, false});
      continue;
    }
    std::error_code ec;
    auto status = fs::status(arg, ec);
    if (ec) {
      errors.push_back(arg + ": " + ec.message());
      continue;
    }
    if (fs::is_directory(status)) {
      std::vector<InputPath> found;
      fs::recursive_directory_iterator it(arg, fs::directory_options::skip_permission_denied, ec), end;
      if (ec) {
        errors.push_back(arg + ": " + ec.message());
        continue;
      }
      for (; it != end; it.increment(ec)) {
        if (ec) {
          errors.push_back(arg + ": " + ec.message());
          break;
        }
        std::error_code ec2;
        if (!it->is_regular_file(ec2)) continue;
        std::string p = it->path().string();
        found.push_back({p, it->file_size(ec2), is_gzip_file(p)});
      }
      std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(status) || fs::is_fifo(status) || fs::is_character_file(status)) {
      std::uint64_t size = fs::is_regular_file(status) ? fs::file_size(arg, ec) : 0;
      out.push_back({arg, ec ? 0 : size, fs::is_regular_file(status) && is_gzip_file(arg)});
    } else {
      errors.push_back(arg + ": not a file or directory");
    }
  }
  return out;
}

}  // namespace sluice::logscan
