// Files that hold credentials (a password, an OAuth client secret, a private key): refused when
// their group or other users have any access, so that a secret cannot leak through a careless
// chmod unnoticed. The one check, used both when the configuration is read (config/send_auth.cc)
// and when the file is read for use (outbound/). And wiping a secret once it has been used, the
// same way wherever one is read (the AUTH exchange, `sluice user`'s password prompt).
#pragma once
#include <filesystem>
#include <string>
#include <string_view>

#include "base/result.h"

namespace sluice {

/// Fails unless `file` can be examined and neither its group nor others have any permission on
/// it. The error is what follows the file's name in a message: "has mode 0640: a file holding a
/// secret must not be open to group or others; chmod 600 it", or "cannot be examined: <reason>".
Result<void> check_private_file(const std::filesystem::path& file);

/// The first line of `file` (without CR/LF), once check_private_file passes; an empty first line is
/// an error. Errors are "<setting> <file> <reason>": "password_file /etc/sluice/relay.password has
/// mode 0644: ...". Neither the error nor anything else here shows the file's content.
Result<std::string> read_secret_file(const std::filesystem::path& file, std::string_view setting);

/// Overwrites `secret`'s bytes (in a way the compiler keeps) and empties it, so that a password
/// does not linger in memory given back once it has been used.
void wipe_secret(std::string& secret);

}  // namespace sluice
