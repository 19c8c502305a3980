// The SMTP client: one transaction to one host, as an explicit state machine (docs/outbound.md):
// banner, EHLO (HELO fallback), STARTTLS per policy, EHLO again, AUTH when the connector has
// [auth] (only inside TLS), MAIL/RCPT/DATA (pipelined when offered), QUIT. Every command, reply and TLS event goes to
// the send protocol log.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "outbound/access_token.h"
#include "outbound/outcome.h"
#include "outbound/tls_requirement.h"
#include "protocol_log/protocol_log.h"
#include "smtp/reply.h"

namespace sluice::tlsrpt {
class Collector;
}

namespace sluice::outbound {

/// RFC 5321 4.5.3.2 client timeouts; tests shorten them.
struct ClientTimeouts {
  std::chrono::seconds connect{30};
  std::chrono::seconds banner{300};
  std::chrono::seconds command{300};  ///< EHLO, MAIL, RCPT, STARTTLS, QUIT
  std::chrono::seconds data_init{120};
  std::chrono::seconds data_block{180};
  std::chrono::seconds data_term{600};
  std::chrono::seconds tls_handshake{60};
};

struct Transaction {
  std::string mail_from;  ///< "" for the null sender
  std::vector<std::string> recipients;
  const std::string* message = nullptr;  ///< CRLF lines, not dot-stuffed (the client stuffs)
  bool eight_bit = false;                ///< BODY=8BITMIME
  bool smtputf8 = false;
  /// A recipient verification probe (SMTP callout): MAIL and RCPT only, then QUIT; no message
  /// (`message` unused), no DATA. The recipients' replies are the answer.
  bool rcpt_only = false;
  /// RFC 8689 REQUIRETLS (outbound/requiretls.h): sent only over authenticated TLS to a server that
  /// offers REQUIRETLS, with REQUIRETLS on MAIL; with the null sender (a notice) only where offered.
  bool requiretls = false;
  /// The message has "TLS-Required: No" and no REQUIRETLS: its targets were decided without DANE
  /// and MTA-STS (resolve_with_policy's ignore_recipient_policies). For the log; the client does
  /// nothing else with it.
  bool tls_required_no = false;
  /// A queue move (`sluice queue move`, queue/move_parameters.h): sent only to a server that offers
  /// XMOVE, else the attempt fails before MAIL (RemotePermanent, 5.5.1). `move_mail_parameters` goes
  /// after MAIL FROM's own parameters, `move_recipient_parameters[i]` after recipient i's RCPT TO.
  bool move = false;
  std::string move_mail_parameters;
  std::vector<std::string> move_recipient_parameters;
};

struct Target {
  std::string host;  ///< the MX or smart host name (for SNI and verify), or the literal
  asio::ip::tcp::endpoint endpoint;
  TlsRequirement tls;  ///< what this session must achieve (outbound/destination_policy decides)
};

enum class TlsAttempt { Policy, Plaintext };  ///< Plaintext: the fallback retry after a failed handshake

struct AttemptResult {
  Failure failure = Failure::None;
  smtp::Reply reply;  ///< the attempt-wide reply when failure != None
  /// One per recipient (same order), each its final outcome in this attempt: 2xx only when the
  /// message was accepted for it; a recipient refused at RCPT keeps the remote's 4xx/5xx; every
  /// other recipient gets the attempt-wide `reply` (so the caller can decide per recipient
  /// from this vector alone). Empty only when the transaction had no recipients.
  std::vector<smtp::Reply> recipients;
  bool transaction_started = false;     ///< MAIL FROM was sent: the remote took part in this message
  bool data_accepted = false;           ///< the final 250 after DATA came
  bool tls = false;                     ///< the session was encrypted
  std::string tls_version, tls_cipher;  ///< "TLS1_2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
  bool may_fall_back = false;           ///< handshake failed on an opportunistic connector with fallback
  std::string endpoint;                 ///< "127.0.0.1:25"
  std::string local_endpoint;           ///< our side, once connected
  /// The RFC 8460 4.3 result type of a TLS failure under the session's policy
  /// ("starttls-not-supported", "certificate-expired", ...); empty: TLS succeeded or was not
  /// tried. What TLS-RPT counts (outbound/tls_report_feed).
  std::string tls_result_type;
  /// The session's TLS requirement as describe() writes it; a refusal before any session (no
  /// host allowed by the policy) says so too.
  std::string tls_policy;
};

struct ClientSettings {
  const config::SendConnector* connector = nullptr;
  std::string helo;                           ///< EHLO name
  asio::ssl::context* tls_context = nullptr;  ///< from tls::make_client_context
  protocol_log::Writer* send_log = nullptr;
  ClientTimeouts timeouts;
  /// The connector's [auth] credentials (outbound/send_credentials): PLAIN/LOGIN's password,
  /// XOAUTH2's token source. Null when the connector does not authenticate, or they were not loaded
  /// (then an auth connector defers, saying so).
  const std::string* password = nullptr;
  AccessTokenSource* token_source = nullptr;
  /// Where each session's TLS outcome is counted for TLS-RPT; null: not counted (reporting off,
  /// a callout, or the message is a TLS report itself: RFC 8460 5.3 wants no reports on those).
  tlsrpt::Collector* tls_reports = nullptr;
};

/// Runs one attempt. Never throws for network or protocol trouble: it is all in the result.
/// Recipients refused with 5xx fail alone; if none is accepted no DATA is sent; 4xx per
/// recipient defers it. TlsAttempt::Plaintext is ignored (and logged) for a required/verify
/// connector: those never send in plaintext. The settings, target and transaction must outlive
/// the returned awaitable.
asio::awaitable<AttemptResult> deliver(asio::any_io_executor executor, const ClientSettings& settings,
                                       const Target& target, const Transaction& transaction, TlsAttempt tls);

}  // namespace sluice::outbound
