// Moving a queued message to another node over SMTP (`sluice queue move`, docs/queue.md, "Moving
// a queue to another node"): the ESMTP extension XMOVE and the MAIL and RCPT parameters that carry
// what the spool knows of a message beyond its envelope, so that the receiving node continues it
// (lifetime from the original arrival, retry history, last reply) instead of starting it afresh.
//
//   EHLO keyword: XMOVE (only on receive connectors with accept_moved_mail, to clients that may relay)
//   MAIL FROM:<s> XMOVE-ARRIVED=2026-12-08T03:41:02.25Z XMOVE-ID=0005F1A2B3C40001 [XMOVE-WARNED] [XMOVE-REQUIRETLS]
//   RCPT TO:<r>   XMOVE-STATE=deferred XMOVE-ATTEMPTS=2 [XMOVE-LAST=<time>] [XMOVE-NEXT=<time>] [XMOVE-REPLY=<xtext>]
//
// The "X" prefix: RFC 5321 2.2.2 reserves keywords without it for extensions registered with IANA.
// Values are ESMTP parameter values (RFC 5321 4.1.2: no space, no "="); the reply is xtext (RFC 3461 4).
#pragma once
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "queue/envelope.h"

namespace sluice::queue {

inline constexpr std::string_view kMoveKeyword = "XMOVE";

/// RFC 3461 4 xtext: bytes 33..126 but '+' and '=' as they are, every other one as "+XX".
std::string xtext_encode(std::string_view text);
/// The inverse; nullopt for a byte outside 33..126 or a '+' not followed by two upper-case hex digits.
std::optional<std::string> xtext_decode(std::string_view text);

/// What MAIL carries of a moved message.
struct MovedMessage {
  std::chrono::system_clock::time_point received{};  ///< the original arrival: lifetime counts from it
  std::string original_id;                           ///< its queue id on the node it came from
  bool delay_warning_sent = false;
  bool requiretls = false;
};

/// What RCPT carries of one recipient that still waits (pending or deferred).
struct MovedRecipient {
  Recipient::State state = Recipient::State::Pending;
  int attempts = 0;
  std::chrono::system_clock::time_point last_attempt{};
  std::chrono::system_clock::time_point next_attempt{};
  smtp::Reply last_reply;
};

/// " XMOVE-ARRIVED=... XMOVE-ID=..." (each parameter after a space) for MAIL FROM.
std::string move_mail_parameters(const Envelope& envelope);
/// The same for one waiting recipient's RCPT TO. The reply is cut (at a character, never inside
/// an xtext escape) so that the parameters take at most `max_length` octets: a command line keeps
/// to 512 octets (RFC 5321 4.5.3.1.4), whatever the remote said last time.
std::string move_recipient_parameters(const Recipient& recipient, std::size_t max_length);

/// True for the parameters above (case-insensitive, as every ESMTP keyword).
bool is_move_parameter(std::string_view keyword);
/// Reads one MAIL parameter into `moved`; the error is the text of a 501 reply.
Result<void> read_move_mail_parameter(MovedMessage& moved, std::string_view keyword, std::string_view value);
/// Both XMOVE-ARRIVED and XMOVE-ID were given (a MAIL with some XMOVE parameter needs them).
Result<void> check_moved_message(const MovedMessage& moved);
Result<void> read_move_recipient_parameter(MovedRecipient& moved, std::string_view keyword, std::string_view value);

/// The envelope the receiving node stores: the values `moved` carried replace the fresh ones.
void apply_moved_message(Envelope& envelope, const MovedMessage& moved);
void apply_moved_recipient(Recipient& recipient, const MovedRecipient& moved);

}  // namespace sluice::queue
