// A message's envelope and per-recipient delivery state, as kept in the spool.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "smtp/reply.h"

namespace sluice::queue {

struct Recipient {
  enum class State { Pending, Delivered, Deferred, Failed };
  std::string address;  ///< "local@domain" as the client gave it
  State state = State::Pending;
  int attempts = 0;
  /// The last reply or error, e.g. 421 4.4.2 "Connection dropped due to SocketError"; empty
  /// before the first attempt. Kept structured: the engine decides on its code and enhanced
  /// code; the spool and the queue viewer keep its one_line() text.
  smtp::Reply last_reply;
  std::chrono::system_clock::time_point next_attempt{};
  std::string next_hop;  ///< where it goes: recipient domain (MX), smart host, or "local"; set when routed
  std::chrono::system_clock::time_point last_attempt{};
  /// The TLS policy of the last attempt and what decided it (outbound/destination_policy's
  /// describe()), e.g. "dane (dane): connector Internet: dane: ..."; empty before one.
  std::string tls_policy;

  /// Not delivered and not failed: a delivery attempt is still to come.
  bool waiting() const { return state == State::Pending || state == State::Deferred; }
};

/// A delivery status notification decided for a message but not yet in the spool (the spool was
/// full, say): the message stays until it is queued, and the DSN then reports what was decided
/// (docs/queue.md, "Pending notices"). For a bounce, one row per failed recipient; for a delay
/// warning, one per recipient that was waiting (rows whose recipient is no longer waiting when it
/// is finally queued are left out: it would report a delay that is over).
struct PendingNotice {
  struct Row {
    std::size_t recipient = 0;  ///< index into Envelope::recipients
    std::string status;         ///< the DSN's Status: "5.1.1", "4.4.7"
    std::string diagnostic;     ///< the reply as one line, for Diagnostic-Code
    std::string remote_mta;     ///< the host that answered; may be empty
    std::chrono::system_clock::time_point last_attempt{};
  };
  /// The notice's own queue id, chosen when it is decided: however often queuing it is retried,
  /// it is one message, and a DSN already queued is never queued again under another id.
  std::string id;
  bool delay_warning = false;  ///< a "delayed" notice; else a bounce ("failed")
  std::vector<Row> rows;
};

struct Envelope {
  std::string id;         ///< queue id (16 hex digits)
  std::string mail_from;  ///< "" for the null reverse-path
  /// The client's MAIL FROM when the receive connector's rewrite_senders changed it; else empty.
  std::string original_mail_from;
  std::vector<Recipient> recipients;
  std::string body_type;  ///< "7BIT" or "8BITMIME"
  bool smtputf8 = false;
  /// RFC 8689: MAIL FROM carried REQUIRETLS. Relayed only over authenticated TLS to a server that
  /// offers REQUIRETLS, else bounced; its bounce carries it too (docs/outbound.md, "REQUIRETLS").
  bool requiretls = false;
  /// RFC 8689 5: the message has "TLS-Required: No" (and no REQUIRETLS, which wins): recipient-domain
  /// TLS policies (DANE, MTA-STS) are not enforced for it.
  bool tls_required_no = false;
  std::uint64_t size = 0;  ///< octets of the stored message
  std::chrono::system_clock::time_point received{};
  // Where it came from, for logs and the queue viewer.
  std::string client_address;  ///< "192.0.2.1"
  std::string client_helo;
  std::string connector;
  std::string tls_version;          ///< "TLS1_3", empty for plaintext
  std::string tls_cipher;           ///< "TLS_AES_256_GCM_SHA384"
  bool delay_warning_sent = false;  ///< a "delayed" DSN went out already (sent once)
  std::string message_id;           ///< the Message-ID header's value ("<x@y>"), for the tracking log; may be empty
  /// The queue id the message had on the node `sluice queue move` took it from (queue/move_parameters.h);
  /// empty for a message received here.
  std::string moved_from;
  /// DSNs owed to the sender that could not be queued yet; the message is kept until they are.
  std::vector<PendingNotice> pending_notices;

  /// True while a recipient is still to be delivered (Pending or Deferred).
  bool any_waiting() const {
    for (const auto& r : recipients)
      if (r.waiting()) return true;
    return false;
  }
};

/// Splits a stored address "local@domain" at the last '@' (a quoted local part may contain '@');
/// no '@' gives an empty domain.
std::pair<std::string, std::string> split_address(std::string_view address);

/// The next hop a recipient waits for: its next_hop as the delivery engine routed it, or (not
/// routed yet) its domain in lower case; "local" for an address without a domain. The scheduler
/// files recipients under it and the queue viewer groups them by it.
std::string recipient_hop(const Recipient& recipient);

const char* state_name(Recipient::State state);  ///< "pending", "delivered", "deferred", "failed"
/// The inverse of state_name; nullopt for anything else (case matters).
std::optional<Recipient::State> state_from_name(std::string_view name);

/// True for ids that are safe as file names: 1 to 64 ASCII letters and digits (new_hex_id()
/// makes 16 upper-case hex digits). The spool refuses anything else.
bool valid_queue_id(std::string_view id);

/// "2024-05-01T12:34:56Z", or "2024-05-01T12:34:56.250000Z" when there is a fraction: UTC,
/// to the microsecond (finer precision is truncated).
std::string format_utc_time(std::chrono::system_clock::time_point time);
/// Parses what format_utc_time writes ("Z" required, 0 to 9 fraction digits, truncated to the
/// microsecond); nullopt for anything else, including impossible dates like 2023-02-29.
std::optional<std::chrono::system_clock::time_point> parse_utc_time(std::string_view text);

/// Envelope <-> JSON text (the on-disk format, docs/queue.md): pretty-printed, "format": 1.
/// Strings that are not valid UTF-8 are written with U+FFFD in place of the bad bytes (JSON
/// cannot carry them); Spool::store refuses such addresses rather than alter them.
std::string envelope_to_json(const Envelope& envelope);
/// Nullopt when the text is not JSON, has another "format", or misses or mistypes any field;
/// never throws. Exception: "next_hop", "last_attempt" and "delay_warning_sent" were added
/// later and may be absent (they then keep their defaults), as are "message_id", "pending_notices",
/// "requiretls", "tls_required_no" and "moved_from", so older
/// spool files still load; when present they must have the right type (a pending notice's rows must name
/// recipients of the envelope).
std::optional<Envelope> envelope_from_json(std::string_view text);

}  // namespace sluice::queue
