// One inbound SMTP session: the receive connector's state machine (docs/smtp.md).
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ssl/context.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "log/protocol_log.h"
#include "net/connection.h"
#include "queue/group_commit.h"
#include "queue/spool.h"
#include "smtp/command.h"
#include "smtp/reply.h"

namespace sluice::inbound {

/// What a session needs from the rest of the gateway. Owned by the server; outlives sessions.
struct SessionServices {
  const config::Config* config = nullptr;
  log::Writer* protocol_log = nullptr;
  queue::Spool* spool = nullptr;
  asio::any_io_executor disk;  ///< where spool writes run, off the network thread, when there is no committer
  /// Group commit of spool stores (docs/queue.md); the server makes one when this is null.
  queue::GroupCommitter* committer = nullptr;
  std::function<void(const queue::Envelope& envelope)> queued;  ///< a message was committed (called on the network thread)
};

/// Where the session stands in RFC 5321's sequence. TLS is orthogonal (tls_active()).
enum class Phase { Connected, Greeted, MailGiven, RcptGiven };

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(asio::ip::tcp::socket socket, const config::ReceiveConnector& connector,
          std::shared_ptr<asio::ssl::context> tls_context, const SessionServices& services);

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
  struct Transaction {
    std::string mail_from;  ///< "" for <>
    std::vector<std::string> recipients;
    std::vector<std::string> recipient_local_parts;
    std::vector<bool> recipient_local;  ///< RCPT took it as one of our mailboxes
    std::string body_type = "7BIT";
    bool smtputf8 = false;
    std::uint64_t declared_size = 0;
  };
  using Handler = asio::awaitable<void> (Session::*)(const smtp::Command&);
  struct CommandRule {
    smtp::Verb verb;
    bool needs_tls_when_required;  ///< refused with require_tls_reply before STARTTLS
    Handler handler;
  };
  static const CommandRule kCommands[];

  asio::awaitable<void> on_ehlo(const smtp::Command&);
  asio::awaitable<void> on_helo(const smtp::Command&);
  asio::awaitable<void> on_mail(const smtp::Command&);
  asio::awaitable<void> on_rcpt(const smtp::Command&);
  asio::awaitable<void> on_data(const smtp::Command&);
  asio::awaitable<void> on_rset(const smtp::Command&);
  asio::awaitable<void> on_noop(const smtp::Command&);
  asio::awaitable<void> on_quit(const smtp::Command&);
  asio::awaitable<void> on_vrfy(const smtp::Command&);
  asio::awaitable<void> on_expn(const smtp::Command&);
  asio::awaitable<void> on_help(const smtp::Command&);
  asio::awaitable<void> on_starttls(const smtp::Command&);
  asio::awaitable<void> on_auth(const smtp::Command&);
  asio::awaitable<void> on_bdat(const smtp::Command&);

  void reply(const smtp::Reply& r);
  void reply(int code, std::string_view enhanced, std::string_view text);
  /// Sends `r`, then ends the session (a 421 or the reply to QUIT).
  void reply_and_close(const smtp::Reply& r);
  asio::awaitable<void> dispatch(const smtp::Command& command);
  asio::awaitable<void> finish(std::string_view reason);
  void log_tls_success();
  void log_tls_failure();
  void reset_transaction() { transaction_.reset(); }

  net::Connection connection_;
  const config::ReceiveConnector& connector_;
  std::shared_ptr<asio::ssl::context> tls_context_;
  SessionServices services_;
  log::SessionLog log_;
  asio::ip::address client_;
  Phase phase_ = Phase::Connected;
  std::string helo_;
  bool esmtp_ = false;
  std::optional<Transaction> transaction_;
  std::size_t errors_ = 0;
  bool closing_ = false;            ///< a final reply was queued; end after flushing it
  bool interruptible_ = false;      ///< waiting for a command or a handshake: shutdown may cut in
  bool shutdown_requested_ = false;
  std::string tls_version_, tls_cipher_;
};

}  // namespace sluice::inbound
