// Files that hold credentials (an OAuth client secret, a private key): refused when other users
// may read them, so that a secret cannot leak through a careless chmod unnoticed.
#pragma once
#include <filesystem>
#include <string>

#include "base/result.h"

namespace sluice::outbound {

/// Fails when `path` cannot be examined or other users may read it; the message names the
/// setting and the file ("client_secret_file /etc/sluice/secret is readable by others (mode 0644):
/// chmod o-rwx it").
Result<void> refuse_readable_by_others(const std::filesystem::path& path, std::string_view setting);

/// The first line of `path` (without CR/LF), after refuse_readable_by_others. An empty first line
/// is an error.
Result<std::string> read_secret_file(const std::filesystem::path& path, std::string_view setting);

}  // namespace sluice::outbound
