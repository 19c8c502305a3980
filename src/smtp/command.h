// SMTP command lines: verb recognition and MAIL/RCPT argument parsing (RFC 5321 4.1).
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "smtp/address.h"
#include "smtp/reply.h"

namespace sluice::smtp {

enum class Verb { Helo, Ehlo, Mail, Rcpt, Data, Rset, Noop, Quit, Vrfy, Expn, Help, StartTls, Auth, Bdat, Unknown };

struct Command {
  Verb verb = Verb::Unknown;
  std::string verb_text;  ///< as the client wrote it (for logs and "unrecognized" replies)
  std::string argument;   ///< text after the verb and its separating space(s), trailing blanks trimmed
};

/// Splits a command line (without its CRLF). Verbs are case-insensitive. "MAIL FROM:<a>" is
/// verb MAIL with argument "FROM:<a>".
Command parse_command(std::string_view line);

/// Upper-case canonical name of a verb ("STARTTLS"); "UNKNOWN" for Verb::Unknown.
std::string_view verb_name(Verb verb);

/// The parsed argument of MAIL FROM / RCPT TO.
using ParamList = std::vector<std::pair<std::string, std::string>>;

struct PathArgument {
  bool null_path = false;  ///< MAIL FROM:<> (only valid for MAIL)
  Mailbox mailbox;         ///< empty when null_path
  /// ESMTP parameters in order; keyword upper-cased, value as written ("" when none given).
  ParamList params;
};

/// Parses "FROM:<a@b> SIZE=10" (keyword "FROM") or "TO:<c@d>" (keyword "TO"). A space after the
/// colon is tolerated (many clients send it), a missing <> is not. `allow_utf8`: non-ASCII is
/// permitted in the address (the client said SMTPUTF8). On error returns the reply to send:
/// 501 5.5.4 for syntax of the command or its parameters (docs/smtp.md lists the texts),
/// 553 5.1.3 for a bad recipient address (keyword TO, including the null path "<>"), 501 5.1.7
/// for a bad sender address (keyword FROM), 553 5.6.7 for non-ASCII without SMTPUTF8.
/// For TO, "<Postmaster>" without a domain (any case) is accepted: mailbox.local_part as
/// written, mailbox.domain empty (RFC 5321 4.1.1.3).
Result<PathArgument, Reply> parse_path_argument(std::string_view argument, std::string_view keyword, bool allow_utf8);

}  // namespace sluice::smtp
