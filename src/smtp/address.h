// Mailbox syntax (RFC 5321 4.1.2, RFC 6531) and the checks relay control relies on.
#pragma once
#include <string>
#include <string_view>

#include "base/result.h"

namespace sluice::smtp {

struct Mailbox {
  std::string local_part;  ///< as written, including quotes if it was a quoted-string
  std::string domain;      ///< as written (case preserved); "[1.2.3.4]" for address literals

  /// "local@domain".
  std::string str() const;
  /// The domain lower-cased, for comparisons (domains are case-insensitive).
  std::string domain_key() const;
  /// True for "[...]" address literals.
  bool domain_is_literal() const;
  /// True when the local part contains characters that old MTAs interpreted as routing
  /// ("%", "!", or an "@" inside quotes): sluice never routes by them and refuses them.
  bool has_routing_characters() const;
};

/// Parses a Path's content (the text between < and >). A source route ("@a,@b:user@c") is
/// accepted and dropped as RFC 5321 appendix C allows; the mailbox is then "user@c".
/// Accepts dot-string and quoted-string local parts, domains of LDH labels (no trailing dot) and
/// address literals. `allow_utf8` permits UTF-8 in local part and domain (SMTPUTF8).
/// Fails with a short reason ("missing domain", ...).
Result<Mailbox> parse_mailbox(std::string_view text, bool allow_utf8);

}  // namespace sluice::smtp
