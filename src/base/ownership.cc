#include "base/ownership.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace sluice {
namespace {

Failed<Error> ownership_error(const std::filesystem::path& path, const char* what) {
  return fail(fmt::format("cannot give {} to its service user: {}: {}", path.string(), what, std::strerror(errno)));
}

/// Everything inside the open directory `dir` (shown as `shown` in errors).
Result<void> give_entries(int dir, const std::filesystem::path& shown, uid_t uid, gid_t gid,
                          OwnershipChanges& changes) {
  const int listing_fd = ::dup(dir);
  if (listing_fd < 0) return ownership_error(shown, "dup");
  DIR* listing = ::fdopendir(listing_fd);
  if (!listing) {
    ::close(listing_fd);
    return ownership_error(shown, "fdopendir");
  }
  Result<void> result;
  while (result) {
    errno = 0;
    const dirent* entry = ::readdir(listing);
    if (!entry) {
      if (errno != 0) result = ownership_error(shown, "readdir");
      break;
    }
    const char* name = entry->d_name;
    if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
    struct stat info {};
    if (::fstatat(dir, name, &info, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed meanwhile
      result = ownership_error(shown / name, "stat");
      break;
    }
    if (S_ISDIR(info.st_mode)) {
      const int child = ::openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child < 0) {
        result = ownership_error(shown / name, "open");
        break;
      }
      if (info.st_uid != uid || info.st_gid != gid) {
        if (::fchown(child, uid, gid) != 0)
          result = ownership_error(shown / name, "chown");
        else
          ++changes.changed;
      }
      if (result) result = give_entries(child, shown / name, uid, gid, changes);
      ::close(child);
      continue;
    }
    if (info.st_uid == uid && info.st_gid == gid) continue;
    if (!S_ISLNK(info.st_mode) && info.st_nlink > 1) {
      ++changes.skipped;
      continue;
    }
    if (::fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
      result = ownership_error(shown / name, "chown");
    else
      ++changes.changed;
  }
  ::closedir(listing);
  return result;
}

}  // namespace

Result<OwnershipChanges> give_tree(const std::filesystem::path& path, uid_t uid, gid_t gid) {
  OwnershipChanges changes;
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return changes;
    return ownership_error(path, "stat");
  }
  if (!S_ISDIR(info.st_mode)) {
    if (info.st_uid == uid && info.st_gid == gid) return changes;
    if (!S_ISLNK(info.st_mode) && info.st_nlink > 1) {
      ++changes.skipped;
      return changes;
    }
    if (::lchown(path.c_str(), uid, gid) != 0) return ownership_error(path, "chown");
    ++changes.changed;
    return changes;
  }
  const int dir = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0) return ownership_error(path, "open");
  Result<void> result;
  if (info.st_uid != uid || info.st_gid != gid) {
    if (::fchown(dir, uid, gid) != 0)
      result = ownership_error(path, "chown");
    else
      ++changes.changed;
  }
  if (result) result = give_entries(dir, path, uid, gid, changes);
  ::close(dir);
  if (!result) return fail(result.error().message);
  return changes;
}

}  // namespace sluice
