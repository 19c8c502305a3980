// The fields of a users-file entry (auth/user_database.h), each checked and written the one way:
// the file reader and `sluice user add` accept exactly the same names, patterns, rates and
// rewrites, so what the command writes always loads again.
#pragma once
#include <string>
#include <string_view>

#include "auth/user_database.h"
#include "base/result.h"

namespace sluice::auth {

/// A user name: not empty, no ':' (the field separator), no whitespace or control characters,
/// not starting with '#' (the line would be a comment).
Result<void> check_user_name(std::string_view name);
/// A crypt(3) hash libxcrypt knows and does not call legacy ("$y$...", "$6$...", "$2b$..."):
/// DES and MD5-crypt are refused. Only the form is checked; the message never quotes the hash.
Result<void> check_password_hash(std::string_view hash);
/// An allowed sender or rewrite pattern: "*@domain" or an exact address "local@domain".
Result<void> check_sender_pattern(std::string_view pattern);
/// "<count>/<duration>" with count > 0 and the duration in d, h, m, s ("100/1h", "10/90s").
Result<RateLimit> parse_rate(std::string_view text);
/// The shortest form parse_rate reads back ("100/1h", "5/90m").
std::string format_rate(const RateLimit& rate);
/// A rewrite's pattern as check_sender_pattern, its replacement one exact address (no '*').
Result<void> check_rewrite(const SenderRewrite& rewrite);
/// "<pattern><separator><address>", checked by check_rewrite. The file uses '>', `sluice user add
/// --rewrite` '='; split at the first separator.
Result<SenderRewrite> parse_rewrite(std::string_view text, char separator);

}  // namespace sluice::auth
