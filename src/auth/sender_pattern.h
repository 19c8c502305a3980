// The sender patterns of the users file and of rewrite_senders (docs/relay-for-devices.md): an
// exact address ("root@localhost") or every address of one domain ("*@printer.local").
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace sluice::auth {

/// True when `address` matches `pattern`: the same address, or "*@domain" and an address with a
/// local part in exactly that domain (not its subdomains). Case is ignored throughout (ASCII).
bool sender_pattern_matches(std::string_view pattern, std::string_view address);
/// True when `address` matches one of `patterns` (a users-file entry's allowed_senders).
bool sender_matches(const std::vector<std::string>& patterns, std::string_view address);

}  // namespace sluice::auth
