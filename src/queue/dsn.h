// Delivery status notifications (RFC 3464): the bounce and the delay warning.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "queue/envelope.h"

namespace sluice::queue {

struct DsnRecipient {
  std::string address;
  std::string action;      ///< "failed" or "delayed"
  std::string status;      ///< "4.4.2", "5.1.1" (the enhanced code; for expiry "4.4.7" per RFC 3463)
  std::string diagnostic;  ///< the remote's or our reply, e.g. "421 4.4.2 Connection dropped due to SocketError"
  std::string remote_mta;  ///< host name of the last host tried, may be empty
  std::chrono::system_clock::time_point last_attempt{};
};

struct DsnInput {
  std::string reporting_mta;  ///< our hostname
  const Envelope* original = nullptr;
  std::string original_message;  ///< the stored message; its header block is included
  std::vector<DsnRecipient> recipients;
  bool delay_warning = false;  ///< "delayed" notice instead of a bounce
  std::chrono::system_clock::time_point now;
  std::string message_id_seed;  ///< unique text for Message-ID and the MIME boundary (e.g. the new queue id)
  /// Delay warnings: when retries stop (received + lifetime), for Will-Retry-Until and the text;
  /// the epoch leaves both out.
  std::chrono::system_clock::time_point retry_until{};
};

/// Whether a failure of this message may be reported to its sender: false for the null sender
/// (mail_from == ""), which is itself a notification and must never get one back (RFC 5321
/// 4.5.5, RFC 3464 2.0: no bounce loops). The caller checks this before build_dsn(); build_dsn()
/// and dsn_envelope() refuse null-sender originals with std::invalid_argument as a last guard.
bool should_bounce(const Envelope& original);

/// The whole DSN message (headers and body, CRLF): From "Mail Delivery System
/// <MAILER-DAEMON@reporting_mta>", To the original sender, Subject "Undeliverable: <subject>"
/// or "Delivery delayed: <subject>", Auto-Submitted: auto-replied, multipart/report;
/// report-type=delivery-status with (1) a text/plain part for people that explains a TLS failure
/// in plain words when that was the cause (the reason names 421 4.4.2 / 451 5.7.3 / 4.4.317 and what
/// to fix), (2) message/delivery-status with Reporting-MTA, Arrival-Date, and per recipient
/// Final-Recipient, Action, Status, Remote-MTA, Diagnostic-Code: smtp; ..., Last-Attempt-Date,
/// (3) text/rfc822-headers with the original headers.
///
/// Details: Date (RFC 5322 form), Message-ID <seed@reporting_mta>, a boundary derived from the
/// seed that occurs nowhere in the content. Remote text (diagnostics, host names) is put on one
/// line, 7-bit (other bytes become '?') and at most 900 characters, so a hostile reply cannot
/// add header fields or break the report. Non-ASCII addresses use the RFC 6533 "utf-8" type
/// with \x{HEX} escapes in the status part. The headers part is the original header block up
/// to its first empty line, capped at 64 KiB at a line boundary, line ends made CRLF; 8-bit
/// bytes there are kept (the part is then "8bit", and the report needs 8BITMIME). A missing or
/// unknown action becomes "failed" ("delayed" for a delay warning); a status that is not
/// "[245].x.y" becomes 5.0.0 (4.0.0 when delayed).
/// Throws std::invalid_argument (a programming error, never sent) when original is null, its
/// sender is null (see should_bounce), there are no recipients, or reporting_mta or
/// message_id_seed has nothing usable.
std::string build_dsn(const DsnInput& input);

/// The envelope of a DSN: null sender, one recipient (the original sender).
/// Pending, body_type "8BITMIME" (the headers part may carry 8-bit bytes), smtputf8 when the
/// recipient is not ASCII, received = now, connector "DSN". Throws std::invalid_argument for an
/// id that fails valid_queue_id() or a null-sender original.
Envelope dsn_envelope(const std::string& id, const Envelope& original, std::uint64_t size,
                      std::chrono::system_clock::time_point now);

}  // namespace sluice::queue
