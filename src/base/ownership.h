// Handing a directory tree to the service account before root is given up: what a root start
// (or an earlier run as root) left in the state directory must be the account's, or it could not
// append to its logs, read its queue or reload its generated certificates afterwards.
#pragma once
#include <sys/types.h>

#include <cstddef>
#include <filesystem>

#include "base/result.h"

namespace sluice {

struct OwnershipChanges {
  std::size_t changed = 0;  ///< entries given to the owner
  std::size_t skipped = 0;  ///< files with more than one link, left alone (see below)
};

/// Makes `path` and, when it is a directory, everything below it owned by uid:gid. Symbolic links
/// are never followed (the link itself changes owner), and the walk goes through directory
/// descriptors (openat with O_NOFOLLOW), so an entry swapped for a link on the way cannot turn it
/// into a chown of something outside the tree. A file with more than one hard link is skipped:
/// it may be a link to a file elsewhere (sluice makes none). A missing `path` changes nothing.
Result<OwnershipChanges> give_tree(const std::filesystem::path& path, uid_t uid, gid_t gid);

}  // namespace sluice
