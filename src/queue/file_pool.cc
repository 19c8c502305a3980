#include "queue/file_pool.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <random>

namespace sluice::queue {

namespace fs = std::filesystem;

FilePool::FilePool(fs::path dir, std::size_t capacity) : dir_(std::move(dir)), capacity_(capacity) {
  std::random_device random;
  prefix_ = fmt::format(".free.{:08x}{:08x}.", random(), random());
}

bool FilePool::is_pool_name(std::string_view file_name) { return file_name.rfind(".free.", 0) == 0; }

std::optional<fs::path> FilePool::take() {
  std::lock_guard lock(mutex_);
  if (files_.empty()) return std::nullopt;
  fs::path file = std::move(files_.back());
  files_.pop_back();
  return file;
}

fs::path FilePool::next_name() {
  std::lock_guard lock(mutex_);
  return dir_ / fmt::format("{}{}", prefix_, counter_++);
}

bool FilePool::has_room_for(const fs::path& file) const {
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (ec || size > kMaxKeptSize) return false;
  std::lock_guard lock(mutex_);
  return files_.size() < capacity_;
}

Result<void, std::error_code> FilePool::recycle(const fs::path& file) {
  if (!has_room_for(file)) {
    if (::unlink(file.c_str()) != 0) return fail(std::error_code(errno, std::system_category()));
    return {};
  }
  const fs::path name = next_name();
  if (::rename(file.c_str(), name.c_str()) != 0) return fail(std::error_code(errno, std::system_category()));
  std::lock_guard lock(mutex_);
  files_.push_back(name);
  return {};
}

bool FilePool::adopt(const fs::path& file) {
  if (!has_room_for(file)) return false;
  std::lock_guard lock(mutex_);
  files_.push_back(file);
  return true;
}

}  // namespace sluice::queue
