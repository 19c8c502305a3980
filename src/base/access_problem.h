// Why this process may not use a path, in words an administrator can act on: "/var/lib/sluice is
// mode 0700 and owned by root: user nobody may not enter it". For errors that would otherwise say
// only "Permission denied", or say nothing at all (an unreadable directory lists as empty).
#pragma once
#include <filesystem>
#include <string>

namespace sluice {

/// Why this user may not use `path`, naming the first path component (from the root down) that
/// stops it: a directory it may not enter, or the path itself, which needs the access(2) mode
/// `access_mode` (R_OK, W_OK, X_OK or a combination) for `verb` ("read", "connect to").
/// Empty when nothing stops it, or something other than a permission does (the path is missing).
std::string access_problem(const std::filesystem::path& path, int access_mode, const char* verb);

}  // namespace sluice
