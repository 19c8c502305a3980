// One inbound SMTP session: the receive connector's state machine (docs/smtp.md).
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ssl/context.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "auth/user_database.h"
#include "config/config.h"
#include "inbound/authenticator.h"
#include "inbound/recipient_validation.h"
#include "inbound/sender_rewrite.h"
#include "metrics/gateway_metrics.h"
#include "net/connection.h"
#include "protocol_log/protocol_log.h"
#include "queue/group_commit.h"
#include "queue/move_parameters.h"
#include "queue/spool.h"
#include "smtp/command.h"
#include "smtp/reply.h"
#include "tls/client_certificates.h"
#include "tracking/tracking_log.h"

namespace sluice::inbound {

/// What a session needs from the rest of the gateway. Owned by the server; outlives sessions.
struct SessionServices {
  /// The configuration snapshot: a session keeps the one it started with (and its connector in
  /// it) when a reload replaces the server's.
  std::shared_ptr<const config::Config> config;
  /// Keeps alive what the raw pointers below point into when a reload may replace it (the users
  /// file behind `authenticator`); null when they outlive every session anyway.
  std::shared_ptr<const void> resources;
  protocol_log::Writer* protocol_log = nullptr;
  queue::Spool* spool = nullptr;
  asio::any_io_executor disk;  ///< where spool writes run, off the network thread, when there is no committer
  /// Group commit of spool stores (docs/queue.md); the server makes one when this is null.
  queue::GroupCommitter* committer = nullptr;
  std::function<void(const queue::Envelope& envelope)>
      queued;                                 ///< a message was committed (called on the network thread)
  tracking::TrackingLog* tracking = nullptr;  ///< the message tracking log; null: not written
  /// Recipient validation at RCPT ([recipient_validation]); null: every local part is accepted.
  RecipientValidator* recipients = nullptr;
  /// SMTP AUTH (connectors with auth = true): checks user names and passwords; null: AUTH fails.
  Authenticator* authenticator = nullptr;
  AuthPenalty* auth_penalty = nullptr;  ///< delays per client address after failures; null: none
  UserRates* user_rates = nullptr;      ///< each user's message rate; null: not limited
};

/// A connection that came through a load balancer with a PROXY header (docs/load-balancer.md):
/// the endpoints the session uses in place of the socket's.
struct ProxiedPeer {
  asio::ip::tcp::endpoint local, remote;  ///< the header's destination and source
  /// The header was the balancer speaking for itself (inbound/proxy_reader.h is_balancer_itself):
  /// its health check. The session runs with the balancer's own address and stays out of the
  /// protocol log.
  bool health_check = false;
  std::string early_bytes;  ///< read after the header: the client's first bytes
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(asio::ip::tcp::socket socket, const config::ReceiveConnector& connector,
          std::shared_ptr<asio::ssl::context> tls_context, const SessionServices& services);
  /// `proxied`: the client a PROXY header named (nullopt: the socket's peer is the client).
  Session(asio::ip::tcp::socket socket, const config::ReceiveConnector& connector,
          std::shared_ptr<asio::ssl::context> tls_context, const SessionServices& services,
          std::optional<ProxiedPeer> proxied);

  /// Runs the session to its end.
  asio::awaitable<void> run();
  /// Runs a session that must be refused at once (connection limits): reply, log, close.
  asio::awaitable<void> refuse(smtp::Reply reply);

  /// Server shutdown: a session waiting for a command is told 421 and closed now; one in the
  /// middle of DATA or a handshake finishes that step first.
  void request_shutdown();
  /// Grace period over: close whatever the session is doing.
  void force_close();

 private:
  struct Recipient {
    std::string address;
    bool local = false;  ///< RCPT took it as one of our mailboxes
    std::optional<queue::MovedRecipient> moved;  ///< its state on the node it is moved from (XMOVE)
  };
  struct Transaction {
    std::string mail_from;           ///< "" for <>; after rewrite_senders
    std::string original_mail_from;  ///< what the client gave, when rewrite_senders changed it
    std::vector<Recipient> recipients;
    std::string body_type = "7BIT";
    bool smtputf8 = false;
    bool requiretls = false;  ///< MAIL FROM had REQUIRETLS (RFC 8689)
    std::uint64_t declared_size = 0;
    /// MAIL carried XMOVE parameters: `sluice queue move` hands over a queued message
    /// (queue/move_parameters.h); stored as it comes, with its history, without a Received: of ours.
    std::optional<queue::MovedMessage> moved;
  };

  /// What a verb needs before its handler runs, checked by dispatch() from the command table.
  enum class Need : std::uint8_t {
    Nothing,           ///< an unused slot of CommandRule::needs
    TlsWhenRequired,   ///< STARTTLS done, when the connector has require_tls (its require_tls_reply)
    NoArgument,        ///< the command line has no argument
    Greeting,          ///< EHLO or HELO accepted since the session (re)started
    NoTransaction,     ///< no MAIL yet
    Mail,              ///< MAIL accepted
    Rcpt,              ///< MAIL and at least one RCPT accepted
    NoTls,             ///< TLS not active yet
    Ehlo,              ///< EHLO (not HELO) accepted since the session (re)started
    NotAuthenticated,  ///< no successful AUTH in this session yet
    AuthEnabled,       ///< the connector has auth = true
  };
  /// A requirement and the reply when it is not met (code 0: the connector's require_tls_reply).
  struct Requirement {
    Need need = Need::Nothing;
    int code = 0;
    std::string_view enhanced;
    std::string_view text;
  };
  /// First of a verb's needs when a require_tls connector refuses it before STARTTLS.
  static constexpr Requirement kTlsFirst{Need::TlsWhenRequired, 0, {}, {}};
  using Handler = void (Session::*)(const smtp::Command&);
  using WaitingHandler = asio::awaitable<void> (Session::*)(const smtp::Command&);
  struct CommandRule {
    smtp::Verb verb;
    std::array<Requirement, 5> needs;  ///< checked in order; the first one not met answers
    std::variant<Handler, WaitingHandler> handler;
  };
  static const CommandRule kCommands[];

  bool meets(Need need, const smtp::Command& command) const;
  /// EHLO's and HELO's common part: checks the one hostname, then (re)starts the session's
  /// sequence; false (and answered) when the argument is not one word.
  bool greet(const smtp::Command& command, bool esmtp);

  void on_ehlo(const smtp::Command&);
  void on_helo(const smtp::Command&);
  void on_mail(const smtp::Command&);
  asio::awaitable<void> on_rcpt(const smtp::Command&);
  asio::awaitable<void> on_data(const smtp::Command&);
  /// DATA's envelope for the current transaction: a new id, the time now, the session's facts.
  queue::Envelope new_envelope() const;
  /// Our Received: header for `envelope` (inbound/received_header.h).
  std::string received_header_for(const queue::Envelope& envelope) const;
  void on_rset(const smtp::Command&);
  void on_noop(const smtp::Command&);
  void on_quit(const smtp::Command&);
  void on_vrfy(const smtp::Command&);
  void on_expn(const smtp::Command&);
  void on_help(const smtp::Command&);
  asio::awaitable<void> on_starttls(const smtp::Command&);
  asio::awaitable<void> on_auth(const smtp::Command&);
  void on_bdat(const smtp::Command&);

  void reply(const smtp::Reply& r);
  void reply(int code, std::string_view enhanced, std::string_view text);
  /// Sends `r`, then ends the session (a 421 or the reply to QUIT).
  void reply_and_close(const smtp::Reply& r);
  asio::awaitable<void> dispatch(const smtp::Command& command);
  /// Ends the session: "Local" (we did; "Shutdown" when a stop is in progress) or "Remote".
  asio::awaitable<void> finish(std::string_view reason);
  /// After reply_and_close(): sends the final reply (even after an interrupt), then finish("Local").
  asio::awaitable<void> send_final_reply_and_finish();
  /// AUTH's part (session_auth.cc): the response to a 334 `challenge`, decoded; nullopt when
  /// the exchange ended instead (answered, or the session is closing).
  asio::awaitable<std::optional<std::string>> auth_response(std::string_view challenge);
  /// The AUTH command's initial response decoded (`initial` null: none given), else the
  /// response to `challenge`; nullopt as auth_response.
  asio::awaitable<std::optional<std::string>> first_auth_response(const std::string_view* initial,
                                                                  std::string_view challenge);
  /// A failed AUTH as `user`: the log lines, the growing delay, 535, and 421 at the session's limit.
  asio::awaitable<void> auth_failed(std::string_view mechanism, const std::string& user);
  /// What the receive protocol log shows of an AUTH command: the mechanism, never a response.
  static std::string auth_log_text(const smtp::Command& command);
  /// True when EHLO offers AUTH now: the connector has auth, and TLS is active or not needed.
  bool offers_auth() const;
  // Moved mail (XMOVE, session_move.cc).
  /// EHLO offers XMOVE: the connector has accept_moved_mail and the client may relay, or may
  /// still authenticate to (checked again at MAIL: may_move()).
  bool offers_move() const;
  bool may_move() const;
  /// One XMOVE parameter of MAIL into `t`; false after replying with the refusal.
  bool take_move_mail_parameter(Transaction& t, const std::string& keyword, const std::string& value);
  /// The XMOVE parameters of RCPT; false after replying with the refusal.
  bool take_move_recipient_parameters(const smtp::PathArgument& path, std::optional<queue::MovedRecipient>& moved);
  /// EHLO's "AUTH PLAIN LOGIN": the connector's mechanisms, in its order.
  std::string auth_ehlo_keyword() const;
  /// The longest command line read: AUTH with an initial response may be longer than the rest.
  std::size_t command_line_limit() const;
  /// A read ended without its data: 421 for a timeout (logging `timeout_note`) or a stop; a TLS
  /// KeyUpdate flood (logged) or a client that is gone in DATA or AUTH (logging `lost_note`) ends
  /// the session.
  void end_interrupted_exchange(net::Interrupt why, std::string_view timeout_note, std::string_view lost_note);
  void log_tls_success();
  void log_tls_failure(const net::IoError& failure);
  /// require_client_certificate: after the handshake, checks and logs what the client presented
  /// (session_client_certificate.cc).
  void check_client_certificate();
  /// True (and MAIL answered 530 5.7.1, logged with the reason) when this connector requires a
  /// client certificate and the session has no acceptable one.
  bool refuse_without_client_certificate();
  void reset_transaction() { transaction_.reset(); }
  /// RFC 8689 after the end of data: records "TLS-Required: No" in `envelope` unless it has
  /// REQUIRETLS (which wins), and logs what the sender asked for.
  void note_tls_request(queue::Envelope& envelope, std::string_view client_header_section);
  /// True (and DATA answered 554 5.4.14, logged) when the message, as it arrived, has more
  /// Received: fields than max_hop_count: a mail loop (queue/hop_count.h).
  bool refuse_looping_message(std::string_view client_header_section);
  /// True (and 421 queued, session closing) when `command` is one junk command too many.
  bool too_many_junk_commands(const smtp::Command& command);
  /// The rewrite_senders tables that apply to this session (inbound/sender_rewrite.h).
  SenderRewriter sender_rewriter() const;
  /// True (and 421 queued, session closing, one warning) when the first line the client sent
  /// begins a PROXY header: only proxy_from may send one, and the server reads it before the session.
  bool refuse_stray_proxy_header(std::string_view first_line);

  net::Connection connection_;
  const config::ReceiveConnector& connector_;
  std::shared_ptr<asio::ssl::context> tls_context_;
  SessionServices services_;
  protocol_log::SessionLog log_;
  asio::ip::address client_;
  bool greeted_ = false;  ///< EHLO or HELO accepted (STARTTLS starts the session over)
  std::string helo_;
  bool esmtp_ = false;
  std::optional<Transaction> transaction_;
  std::size_t errors_ = 0;
  bool closing_ = false;        ///< a final reply was queued; end after flushing it
  bool interruptible_ = false;  ///< waiting for a command or a handshake: shutdown may cut in
  bool shutdown_requested_ = false;
  std::string tls_version_, tls_cipher_;
  std::optional<tls::ClientCertificateCheck> client_certificate_;
  metrics::SessionCount
      counted_;  ///< sluice_sessions while the session lives  ///< set after STARTTLS on connectors that ask
  /// Who the client authenticated as (its users-file entry, as it was then); null: nobody.
  std::shared_ptr<const auth::User> user_;
  std::size_t auth_failures_ = 0;  ///< failed AUTH attempts in this session
  /// Commands that advance no transaction (too_many_junk_commands) since the last message accepted.
  std::size_t junk_commands_ = 0;
  bool first_line_ = true;  ///< no command line read yet
};

}  // namespace sluice::inbound
