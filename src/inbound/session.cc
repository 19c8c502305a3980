#include "inbound/session.h"
#include "base/text.h"

#include <fmt/format.h>
#include <openssl/x509.h>
#include <asio/co_spawn.hpp>
#include <asio/ssl/error.hpp>
#include <asio/use_awaitable.hpp>

#include <utility>

#include "base/blocking.h"
#include "base/ids.h"
#include "base/logging.h"
#include "inbound/incoming_message.h"
#include "inbound/permissions.h"
#include "inbound/received_header.h"
#include "inbound/requiretls.h"
#include "net/proxy_header.h"
#include "queue/hop_count.h"
#include "smtp/data_decoder.h"
#include "smtp/message_headers.h"
#include "tls/client_hello.h"
#include "tls/context_policy.h"
#include "tls/exchange_names.h"
#include "tls/failure_reason.h"
#include "tls/server_context.h"

namespace sluice::inbound {

using asio::awaitable;
using smtp::Command;
using smtp::Reply;
using smtp::Verb;

namespace {

constexpr auto kFinalWriteTimeout = std::chrono::seconds(10);
// The client's header section kept in memory for sender rewriting and the checks after DATA
// (IncomingMessage): Postfix's header_size_limit. Beyond it the rest is body.
constexpr std::size_t kMaxHeaderSection = 100 * 1024;

bool has_non_ascii(std::string_view text) {
  for (unsigned char c : text)
    if (c >= 0x80) return true;
  return false;
}

}  // namespace

// The command table: per verb, what must hold before its handler runs, in the order checked, and
// the reply when it does not (RFC 5321 4.1.4 sequencing; OpenSMTPD's smtp_session.c keeps its
// rules the same way). A require_tls connector refuses every verb but EHLO, HELO, NOOP, RSET,
// QUIT, HELP and STARTTLS before STARTTLS (RFC 3207 4.2), first of all.
const Session::CommandRule Session::kCommands[] = {
    {Verb::Ehlo, {}, &Session::on_ehlo},
    {Verb::Helo, {}, &Session::on_helo},
    {Verb::Mail,
     {{kTlsFirst,
       {Need::Greeting, 503, "5.5.1", "Send EHLO or HELO first"},
       {Need::NoTransaction, 503, "5.5.1", "Sender already specified"}}},
     &Session::on_mail},
    {Verb::Rcpt, {{kTlsFirst, {Need::Mail, 503, "5.5.1", "Need MAIL before RCPT"}}}, &Session::on_rcpt},
    {Verb::Data,
     {{kTlsFirst,
       {Need::NoArgument, 501, "5.5.4", "Syntax: DATA"},
       {Need::Mail, 503, "5.5.1", "Need MAIL before DATA"},
       {Need::Rcpt, 503, "5.5.1", "Need RCPT before DATA"}}},
     &Session::on_data},
    {Verb::Rset, {}, &Session::on_rset},
    {Verb::Noop, {}, &Session::on_noop},
    {Verb::Quit, {}, &Session::on_quit},
    {Verb::Vrfy, {{kTlsFirst}}, &Session::on_vrfy},
    {Verb::Expn, {{kTlsFirst}}, &Session::on_expn},
    {Verb::Help, {}, &Session::on_help},
    {Verb::StartTls,
     {{{Need::NoArgument, 501, "5.5.4", "Syntax: STARTTLS"}, {Need::NoTls, 503, "5.5.1", "TLS already active"}}},
     &Session::on_starttls},
    // RFC 4954 4: AUTH needs EHLO, only once, never in a transaction.
    {Verb::Auth,
     {{kTlsFirst,
       {Need::AuthEnabled, 502, "5.5.1", "AUTH not available on this connector"},
       {Need::Ehlo, 503, "5.5.1", "Send EHLO first"},
       {Need::NotAuthenticated, 503, "5.5.1", "Already authenticated"},
       {Need::NoTransaction, 503, "5.5.1", "AUTH not permitted during a mail transaction"}}},
     &Session::on_auth},
    {Verb::Bdat, {{kTlsFirst}}, &Session::on_bdat},
};

Session::Session(asio::ip::tcp::socket socket, const config::ReceiveConnector& connector,
                 std::shared_ptr<asio::ssl::context> tls_context, const SessionServices& services)
    : Session(std::move(socket), connector, std::move(tls_context), services, std::nullopt) {}

Session::Session(asio::ip::tcp::socket socket, const config::ReceiveConnector& connector,
                 std::shared_ptr<asio::ssl::context> tls_context, const SessionServices& services,
                 std::optional<ProxiedPeer> proxied)
    : connection_(std::move(socket)),
      connector_(connector),
      tls_context_(std::move(tls_context)),
      services_(services),
      // A health check every few seconds per balancer would bury the sessions that matter.
      log_(proxied && proxied->health_check ? nullptr : services.protocol_log, connector.name, new_hex_id(),
           net::endpoint_text(proxied ? proxied->local : connection_.local_endpoint()),
           net::endpoint_text(proxied ? proxied->remote : connection_.remote_endpoint())),
      client_(net::plain_address(proxied ? proxied->remote.address() : connection_.remote_endpoint().address())),
      counted_(connector.name) {
  if (proxied) connection_.preload(proxied->early_bytes);
}

void Session::reply(const Reply& r) {
  if (r.code >= 400) ++errors_;
  log_.sent(r.one_line());
  connection_.queue(r.wire());
}

void Session::reply(int code, std::string_view enhanced, std::string_view text) {
  reply(smtp::make_reply(code, enhanced, text));
}

void Session::reply_and_close(const Reply& r) {
  log_.sent(r.one_line());
  connection_.queue(r.wire());
  closing_ = true;
}

void Session::request_shutdown() {
  shutdown_requested_ = true;
  if (interruptible_) connection_.interrupt(net::Interrupt::Shutdown);
}

void Session::force_close() {
  shutdown_requested_ = true;
  connection_.interrupt(net::Interrupt::Shutdown);
}

awaitable<void> Session::finish(std::string_view reason) {
  if (connection_.closed()) co_return;
  // The disconnect line says who ended the session; a stop in progress overrides "Local".
  log_.disconnect(shutdown_requested_ && reason == "Local" ? std::string_view("Shutdown") : reason);
  co_await connection_.close();
}

awaitable<void> Session::send_final_reply_and_finish() {
  connection_.clear_interrupt();
  connection_.set_timeout(kFinalWriteTimeout);
  // A client that is gone already changes nothing: the session ends here either way.
  [[maybe_unused]] auto sent = co_await connection_.send();
  co_await finish("Local");
}

awaitable<void> Session::refuse(Reply r) {
  connection_.start_watchdog(shared_from_this());
  log_.connect();
  reply_and_close(r);
  co_await send_final_reply_and_finish();
}

awaitable<void> Session::run() {
  const auto& limits = services_.config->limits;
  connection_.start_watchdog(shared_from_this());
  log_.connect();
  // RFC 2034 exempts the greeting from enhanced status codes.
  reply(220, "", fmt::format("{} ESMTP sluice ready", services_.config->hostname));
  while (!closing_) {
    // Replies to pipelined commands wait until the client has nothing more queued (RFC 2920).
    if (connection_.buffered().find('\n') == std::string_view::npos) {
      connection_.set_timeout(kFinalWriteTimeout + limits.command_timeout);
      if (auto sent = co_await connection_.send(); !sent) {
        // A send cut short by our own shutdown is a local end, not the client's.
        co_return co_await finish(sent.error().interrupt == net::Interrupt::Shutdown ? "Local" : "Remote");
      }
    }
    // Checked after the flush: a stop requested while replies were going out has no read to
    // interrupt, and must not wait for the client's next command.
    if (shutdown_requested_) {
      reply_and_close(
          smtp::make_reply(421, "4.3.2", services_.config->hostname + " Service shutting down, try again later"));
      break;
    }
    connection_.set_timeout(limits.command_timeout);
    interruptible_ = true;
    auto line = co_await connection_.read_line(command_line_limit());
    interruptible_ = false;
    if (!line) {
      if (line.error().interrupt == net::Interrupt::None) co_return co_await finish("Remote");
      end_interrupted_exchange(line.error().interrupt, "Timeout waiting for a command", "");
      break;
    }
    if (std::exchange(first_line_, false) && !line->too_long && refuse_stray_proxy_header(line->text)) break;
    Command command;
    if (!line->too_long) command = smtp::parse_command(line->text);
    // Only AUTH may use the longer limit (RFC 4954 4: its initial response).
    if (line->too_long || (command.verb != Verb::Auth && line->text.size() + 2 > limits.max_command_line)) {
      log_.received("<command line too long>");
      reply(500, "5.5.2", fmt::format("Line too long (the limit is {} octets)", limits.max_command_line));
    } else {
      // AUTH carries secrets: only its mechanism reaches the log.
      log_.received(command.verb == Verb::Auth ? std::string_view(auth_log_text(command)) : line->text);
      if (!too_many_junk_commands(command)) co_await dispatch(command);
    }
    if (!closing_ && errors_ >= limits.max_errors) {
      reply_and_close(
          smtp::make_reply(421, "4.7.0", services_.config->hostname + " Too many errors, closing connection"));
    }
  }
  co_await send_final_reply_and_finish();
}

bool Session::refuse_stray_proxy_header(std::string_view first_line) {
  if (!net::begins_with_proxy_header(first_line, connection_.buffered())) return false;
  log_.received("<PROXY header>");
  log_warning("client [{}] sent a PROXY header to connector \"{}\", which {}; connection closed", client_.to_string(),
              connector_.name,
              connector_.proxy_protocol ? "takes one only from its proxy_from" : "has no proxy_protocol");
  reply_and_close(smtp::make_reply(421, "4.7.0", "PROXY header not accepted from your address"));
  return true;
}

SenderRewriter Session::sender_rewriter() const {
  SenderRewriter rewriter;
  if (user_) rewriter.add(user_->rewrite_senders);  // the user's own entries first
  rewriter.add(connector_.rewrite_senders);
  return rewriter;
}

bool Session::meets(Need need, const Command& command) const {
  switch (need) {
    case Need::Nothing:
      return true;
    case Need::TlsWhenRequired:
      return !connector_.require_tls || connection_.tls_active();
    case Need::NoArgument:
      return command.argument.empty();
    case Need::Greeting:
      return greeted_;
    case Need::NoTransaction:
      return !transaction_;
    case Need::Mail:
      return transaction_.has_value();
    case Need::Rcpt:
      return transaction_ && !transaction_->recipients.empty();
    case Need::NoTls:
      return !connection_.tls_active();
    case Need::Ehlo:
      return greeted_ && esmtp_;
    case Need::NotAuthenticated:
      return user_ == nullptr;
    case Need::AuthEnabled:
      return connector_.auth;
  }
  return false;
}

awaitable<void> Session::dispatch(const Command& command) {
  for (const auto& rule : kCommands) {
    if (rule.verb != command.verb) continue;
    for (const auto& required : rule.needs) {
      if (meets(required.need, command)) continue;
      if (required.code == 0)
        reply(connector_.require_tls_reply);
      else
        reply(required.code, required.enhanced, required.text);
      co_return;
    }
    if (const auto* handler = std::get_if<Handler>(&rule.handler))
      (this->*(*handler))(command);
    else
      co_await (this->*std::get<WaitingHandler>(rule.handler))(command);
    co_return;
  }
  reply(500, "5.5.2", "Command unrecognized");
}

bool Session::greet(const Command& command, bool esmtp) {
  if (command.argument.empty() || command.argument.find(' ') != std::string::npos) {
    reply(501, "5.5.4", esmtp ? "Syntax: EHLO hostname" : "Syntax: HELO hostname");
    return false;
  }
  helo_ = command.argument;
  esmtp_ = esmtp;
  greeted_ = true;
  reset_transaction();
  return true;
}

void Session::on_ehlo(const Command& command) {
  if (!greet(command, true)) return;
  Reply r{250, "", {}};
  r.lines.push_back(fmt::format("{} Hello [{}]", services_.config->hostname, client_.to_string()));
  r.lines.push_back(fmt::format("SIZE {}", services_.config->limits.max_message_size));
  r.lines.push_back("PIPELINING");
  r.lines.push_back("8BITMIME");
  r.lines.push_back("ENHANCEDSTATUSCODES");
  r.lines.push_back("SMTPUTF8");
  // RFC 8689 2: only after STARTTLS, where a MAIL with it can be taken.
  if (connector_.requiretls && connection_.tls_active()) r.lines.push_back("REQUIRETLS");
  if (offers_auth()) r.lines.push_back(auth_ehlo_keyword());
  if (offers_move()) r.lines.emplace_back(queue::kMoveKeyword);
  if (connector_.starttls && !connection_.tls_active()) r.lines.push_back("STARTTLS");
  reply(r);
}

void Session::on_helo(const Command& command) {
  if (!greet(command, false)) return;
  reply(Reply{250, "", {fmt::format("{} Hello [{}]", services_.config->hostname, client_.to_string())}});
}

void Session::on_mail(const Command& command) {
  if (refuse_without_client_certificate()) return;
  const auto& limits = services_.config->limits;
  auto parsed = smtp::parse_path_argument(command.argument, "FROM", true);
  if (!parsed) {
    reply(parsed.error());
    return;
  }
  auto& path = *parsed;
  Transaction t;
  for (const auto& [key, value] : path.params) {
    if (!esmtp_) {
      reply(555, "5.5.4", "MAIL parameters need EHLO");
      return;
    }
    if (key == "SIZE") {
      if (value.empty() || value.size() > 19 || value.find_first_not_of("0123456789") != std::string::npos) {
        reply(501, "5.5.4", "Syntax: SIZE=<octets>");
        return;
      }
      t.declared_size = std::stoull(value);
      if (t.declared_size > limits.max_message_size) {
        reply(552, "5.3.4",
              fmt::format("Message size exceeds fixed maximum message size ({} octets)", limits.max_message_size));
        return;
      }
    } else if (key == "BODY") {
      std::string body = ascii_lower(value);
      if (body != "7bit" && body != "8bitmime") {
        reply(501, "5.5.4", "BODY must be 7BIT or 8BITMIME");
        return;
      }
      t.body_type = body == "7bit" ? "7BIT" : "8BITMIME";
    } else if (key == "SMTPUTF8" && value.empty()) {
      t.smtputf8 = true;
    } else if (key == "REQUIRETLS" && connector_.requiretls) {
      if (auto allowed = check_requiretls_parameter(value, connection_.tls_active()); !allowed) {
        reply(allowed.error());
        return;
      }
      t.requiretls = true;
    } else if (key == "AUTH" && connector_.auth && !value.empty()) {
      // RFC 4954 5: who first submitted the message, as a relaying client says; accepted and not
      // used (another server's word about authentication is not trusted here).
    } else if (queue::is_move_parameter(key) && offers_move()) {
      if (!take_move_mail_parameter(t, key, value)) return;
    } else {
      reply(555, "5.5.4", fmt::format("Unsupported MAIL parameter {}", key));
      return;
    }
  }
  if (t.moved) {
    if (auto complete = queue::check_moved_message(*t.moved); !complete) {
      reply(501, "5.5.4", complete.error().message);
      return;
    }
  }
  std::string address = path.null_path ? std::string() : path.mailbox.str();
  if (!t.smtputf8 && has_non_ascii(address)) {
    reply(553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
    return;
  }
  // A moved message was rewritten (or not) where it first arrived: it is stored as it comes.
  const std::optional<std::string> rewritten =
      path.null_path || t.moved ? std::nullopt : sender_rewriter().rewrite(address);
  if (auto allowed = check_sender(*services_.config, connector_, client_, user_.get(),
                                  path.null_path ? nullptr : &path.mailbox, rewritten);
      !allowed) {
    reply(allowed.error());
    return;
  }
  if (user_ && services_.user_rates && !services_.user_rates->allows(*user_)) {
    reply(450, "4.7.1",
          fmt::format("Message rate limit exceeded for user {} ({} messages per {}s); try again later", user_->name,
                      user_->rate->messages, user_->rate->per.count()));
    return;
  }
  t.mail_from = address;
  // The client's sender passed the checks above; the rewrite is what the administrator set for it.
  if (rewritten) {
    log_.info(fmt::format("Sender rewritten: {} -> {}", address, *rewritten));
    t.original_mail_from = std::exchange(t.mail_from, *rewritten);
  }
  transaction_ = std::move(t);
  reply(250, "2.1.0", fmt::format("Sender <{}> OK", address));
}

awaitable<void> Session::on_rcpt(const Command& command) {
  const auto& config = *services_.config;
  auto parsed = smtp::parse_path_argument(command.argument, "TO", transaction_->smtputf8);
  if (!parsed) {
    reply(parsed.error());
    co_return;
  }
  auto& path = *parsed;
  std::optional<queue::MovedRecipient> moved;
  if (!take_move_recipient_parameters(path, moved)) co_return;
  if (transaction_->recipients.size() >= config.limits.max_recipients) {
    reply(452, "4.5.3", fmt::format("Too many recipients (the limit is {} per message)", config.limits.max_recipients));
    co_return;
  }
  smtp::Mailbox mailbox = path.mailbox;
  // RFC 5321 4.5.1: <Postmaster> without a domain is always accepted and delivered here, for our
  // primary domain. A pure relay (no authoritative domain) keeps it without a domain, which local
  // delivery also takes as ours; the host name would send it out by MX, often back to us.
  if (mailbox.domain.empty()) mailbox.domain = config::primary_domain(config);
  if (mailbox.has_routing_characters()) {
    reply(553, "5.1.3", "Routing characters (%, !, quoted @) in the local part are not accepted");
    co_return;
  }
  auto destination = recipient_destination(config, connector_, client_, user_.get(), mailbox);
  if (!destination) {
    reply(destination.error());
    co_return;
  }
  if (services_.recipients) {
    auto verdict = co_await services_.recipients->check(mailbox);
    if (!verdict.because.empty()) log_.info(verdict.because);
    if (!verdict.accepted) {
      reply(verdict.reply);
      co_return;
    }
  }
  std::string address = mailbox.str();
  bool duplicate = false;
  for (const auto& r : transaction_->recipients) duplicate |= ascii_lower(r.address) == ascii_lower(address);
  if (!duplicate) transaction_->recipients.push_back({address, *destination == Destination::Local, std::move(moved)});
  reply(250, "2.1.5", fmt::format("Recipient <{}> OK", address));
}

queue::Envelope Session::new_envelope() const {
  queue::Envelope envelope;
  envelope.id = new_hex_id();
  envelope.mail_from = transaction_->mail_from;
  envelope.original_mail_from = transaction_->original_mail_from;
  envelope.body_type = transaction_->body_type;
  envelope.smtputf8 = transaction_->smtputf8;
  envelope.requiretls = transaction_->requiretls;
  envelope.received = std::chrono::system_clock::now();
  envelope.client_address = client_.to_string();
  envelope.client_helo = helo_;
  envelope.connector = connector_.name;
  envelope.tls_version = tls_version_;
  envelope.tls_cipher = tls_cipher_;
  for (const auto& accepted : transaction_->recipients) {
    auto& recipient = envelope.recipients.emplace_back();
    recipient.address = accepted.address;
    // Routed here already (RCPT accepted it as ours): the delivery engine then finds nothing to
    // change and need not rewrite the envelope before delivering.
    if (accepted.local) recipient.next_hop = "local";
    if (accepted.moved) queue::apply_moved_recipient(recipient, *accepted.moved);
  }
  if (transaction_->moved) queue::apply_moved_message(envelope, *transaction_->moved);
  return envelope;
}

std::string Session::received_header_for(const queue::Envelope& envelope) const {
  return received_header(
      {.helo = helo_,
       .client_address = envelope.client_address,
       .hostname = services_.config->hostname,
       .connector = connector_.name,
       .esmtp = esmtp_,
       .smtputf8 = envelope.smtputf8,
       .authenticated_user = user_ ? user_->name : std::string(),
       .tls_version = tls_version_,
       .tls_cipher = tls_cipher_,
       .queue_id = envelope.id,
       .single_recipient = envelope.recipients.size() == 1 ? envelope.recipients.front().address : "",
       .time = envelope.received});
}

awaitable<void> Session::on_data(const Command&) {
  const auto& config = *services_.config;
  // 354 is an intermediate reply: enhanced status codes exist only for classes 2, 4 and 5.
  reply(354, "", "Start mail input; end with <CRLF>.<CRLF>");
  connection_.set_timeout(kFinalWriteTimeout + config.limits.data_timeout);
  if (!co_await connection_.send()) {
    closing_ = true;
    co_return;
  }
  // The message goes to the spool as it arrives (docs/smtp.md, "Message data"): our Received:
  // header first, the client's header section once it is complete (after sender rewriting), the
  // body in pieces of IncomingMessage::kWriteChunk. What stays in memory is the header section
  // and one piece, whatever the message's size. A message refused or cut off discards its draft
  // (its destructor), so nothing of it stays in the spool.
  queue::Envelope envelope = new_envelope();
  std::vector<HeaderRewrite> rewrites;
  const SenderRewriter rewriter = sender_rewriter();
  // A moved message is stored byte for byte as its first node stored it, Received: line
  // included: the move is not a hop (docs/queue.md, "Moving a queue to another node").
  const bool moving = transaction_->moved.has_value();
  IncomingMessage message(moving ? std::string() : received_header_for(envelope), kMaxHeaderSection,
                          [&rewrites, &rewriter, moving](std::string& header) {
                            if (!moving) rewrites = rewrite_sender_headers(header, rewriter);
                          });
  queue::MessageDraft draft = services_.spool->draft(envelope.id);
  Result<void, std::error_code> written;  // the first write error, reported after the end of data
  const asio::any_io_executor writer = services_.committer ? services_.committer->writer() : services_.disk;
  smtp::DataDecoder decoder(config.limits.max_message_size, config.limits.max_text_line);
  // data_timeout runs per line, not per read (as Postfix's smtpd_per_record_deadline): a client
  // that trickles a byte at a time without ever ending a line would otherwise hold the session
  // for as long as it likes (docs/security.md, promise 5).
  bool line_ended = true;
  for (;;) {
    auto pending = connection_.buffered();
    if (!pending.empty()) {
      connection_.consume(decoder.feed(pending));
      message.add(decoder.content());
      decoder.clear_content();
    }
    if (decoder.done()) break;
    if (message.ready()) {
      // A message with a defect is refused at its end: what it sends meanwhile is only counted.
      if (written && decoder.defect() == smtp::DataDecoder::Defect::None) {
        const std::string_view piece = message.pending();
        auto* to = &draft;
        const auto* bytes = &piece;
        written = co_await run_blocking(writer, [to, bytes] { return to->append(*bytes); });
      }
      message.taken();
    }
    if (line_ended) connection_.set_timeout(config.limits.data_timeout);
    const std::size_t kept = connection_.buffered().size();
    auto filled = co_await connection_.fill();
    line_ended = connection_.buffered().find('\n', kept) != std::string_view::npos;
    if (!filled) {
      end_interrupted_exchange(filled.error().interrupt, "Timeout waiting for message data",
                               "Connection lost during DATA; message discarded");
      co_return;
    }
  }
  message.finish();
  reset_transaction();
  switch (decoder.defect()) {
    case smtp::DataDecoder::Defect::None:
      break;
    case smtp::DataDecoder::Defect::BareLf:
    case smtp::DataDecoder::Defect::BareCr:
      reply(550, "5.6.0", "Message contains bare CR or LF (refused to prevent SMTP smuggling)");
      co_return;
    case smtp::DataDecoder::Defect::LineTooLong:
      reply(550, "5.6.0",
            fmt::format("Message has a line longer than {} octets (RFC 5321 4.5.3.1.6)", config.limits.max_text_line));
      co_return;
    case smtp::DataDecoder::Defect::TooBig:
      reply(552, "5.3.4",
            fmt::format("Message size exceeds fixed maximum message size ({} octets)", config.limits.max_message_size));
      co_return;
  }
  // Checks of the header section that refuse a message after its end go here: a reply and
  // co_return, and the draft is discarded.
  if (refuse_looping_message(message.client_header_section())) co_return;  // stores nothing

  note_tls_request(envelope, message.client_header_section());
  for (const HeaderRewrite& change : rewrites)
    log_.info(fmt::format("{}: header rewritten: {} -> {}", change.field, change.original, change.replacement));
  envelope.size = message.size();
  envelope.message_id = smtp::header_value(message.header_section(), "Message-ID");
  if (!written) {
    log_.info(fmt::format("Queue write failed: {}", written.error().message()));
    reply(451, "4.3.0", "Temporary failure writing the message to the queue, try again later");
    co_return;
  }

  // Durable before the 250: the rest of the message, the fsyncs and the renames run off the
  // network thread (group commit, shared with the other sessions ending DATA now), and this
  // session resumes only when they are done.
  const std::string_view rest = message.pending();
  Result<void, std::error_code> stored;
  const auto store_started = std::chrono::steady_clock::now();
  if (services_.committer) {
    stored = co_await queue::async_store(*services_.committer, envelope, rest, &draft);
  } else {
    auto* spool = services_.spool;
    auto* draft_p = &draft;
    const auto* rest_p = &rest;
    stored = co_await run_blocking(
        services_.disk, [spool, &envelope, rest_p, draft_p] { return spool->store(envelope, *rest_p, draft_p); });
  }
  metrics::spool_write(std::chrono::steady_clock::now() - store_started);
  if (!stored) {
    log_.info(fmt::format("Queue write failed: {}", stored.error().message()));
    reply(451, "4.3.0", "Temporary failure writing the message to the queue, try again later");
    co_return;
  }
  reply(250, "2.6.0", fmt::format("{} Queued mail for delivery", envelope.id));
  if (moving)
    log_.info(fmt::format("MOVE: message {} of the client stored as {}, arrived {}", envelope.moved_from, envelope.id,
                          queue::format_utc_time(envelope.received)));
  if (services_.tracking) services_.tracking->received(envelope, log_.local_endpoint(), log_.session_id());
  // Errors count toward max_errors only until the client delivers something (as Postfix does):
  // a sender with a few bad recipients in each message is not an attacker.
  errors_ = 0;
  junk_commands_ = 0;
  if (user_ && services_.user_rates) services_.user_rates->queued(*user_);
  if (services_.queued) services_.queued(envelope);
  metrics::message_received(connector_.name);
}

void Session::note_tls_request(queue::Envelope& envelope, std::string_view client_header_section) {
  const bool header_says_no = says_tls_not_required(client_header_section);
  if (envelope.requiretls) {
    log_.info("Message has REQUIRETLS (RFC 8689): relayed only over TLS to an authenticated server that offers it");
    // RFC 8689 4.1: with REQUIRETLS the header field is ignored (and passed on as it is).
    if (header_says_no) log_.info("TLS-Required: No ignored: the message has REQUIRETLS");
    return;
  }
  envelope.tls_required_no = header_says_no;
  if (header_says_no)
    log_.info(
        "Message has TLS-Required: No (RFC 8689): recipient-domain TLS policies (DANE, MTA-STS) are not enforced");
}

bool Session::refuse_looping_message(std::string_view client_header_section) {
  // Counted on the message as it came, before our own Received: is added (as Exchange's
  // MaxHopCount): a loop between gateways ends here at the latest, and stores nothing.
  const std::size_t limit = services_.config->limits.max_hop_count;
  const int hops = queue::count_hops(client_header_section);
  if (!queue::exceeds_hop_limit(hops, limit)) return false;
  log_.info(fmt::format("Message refused: {} Received: header fields, more than max_hop_count ({}); possible mail loop",
                        hops, limit));
  reply(queue::hop_count_exceeded_reply());
  return true;
}

bool Session::too_many_junk_commands(const Command& command) {
  // Postfix's smtpd_junk_command_limit: commands that move no mail toward delivery are counted,
  // so that a client cannot keep a session (and its protocol log) growing for ever with them
  // (docs/security.md, promise 15). Each message accepted starts the count again.
  bool ends_transaction = false;
  switch (command.verb) {
    case Verb::Noop:
    case Verb::Vrfy:
    case Verb::Expn:
    case Verb::Help:
      break;
    case Verb::Rset:
      ends_transaction = true;
      break;
    case Verb::Ehlo:
    case Verb::Helo:
      if (!greeted_) return false;  // the first greeting, and the one after STARTTLS, are needed
      ends_transaction = true;
      break;
    default:
      return false;
  }
  // A transaction given up advanced nothing either: its MAIL and its recipients count too, or
  // MAIL, many RCPT and RSET in turn would go on max_recipients times longer
  // (docs/protocol-log.md, "How much a session can log").
  junk_commands_ += 1 + (ends_transaction && transaction_ ? 1 + transaction_->recipients.size() : 0);
  if (junk_commands_ <= services_.config->limits.max_junk_commands) return false;
  reply_and_close(smtp::make_reply(421, "4.7.0",
                                   services_.config->hostname + " Error: too many junk commands, closing connection"));
  return true;
}

void Session::end_interrupted_exchange(net::Interrupt why, std::string_view timeout_note, std::string_view lost_note) {
  const std::string& hostname = services_.config->hostname;
  connection_.clear_interrupt();
  if (why == net::Interrupt::Timeout) {
    log_.info(timeout_note);
    reply_and_close(smtp::make_reply(421, "4.4.2", hostname + " Error: timeout exceeded"));
  } else if (why == net::Interrupt::Shutdown) {
    reply_and_close(smtp::make_reply(421, "4.3.2", hostname + " Service shutting down, try again later"));
  } else if (why == net::Interrupt::KeyUpdateFlood) {
    // The TLS stream was abandoned mid-record (net/connection.h): no reply can be sent.
    log_.info(fmt::format("Client sent more than {} TLS KeyUpdate messages within a minute; closing the connection",
                          net::kMaxKeyUpdatesPerMinute));
    closing_ = true;
  } else {
    log_.info(lost_note);
    closing_ = true;
  }
}

void Session::on_rset(const Command&) {
  reset_transaction();
  reply(250, "2.0.0", "Resetting");
}

void Session::on_noop(const Command&) { reply(250, "2.0.0", "OK"); }

void Session::on_quit(const Command&) {
  reply_and_close(smtp::make_reply(221, "2.0.0", services_.config->hostname + " Service closing transmission channel"));
}

void Session::on_vrfy(const Command&) {
  reply(252, "2.1.5", "Cannot VRFY user, but will accept message and attempt delivery");
}

void Session::on_expn(const Command&) { reply(502, "5.5.1", "EXPN not available"); }

void Session::on_help(const Command&) {
  reply(214, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY STARTTLS HELP");
}

void Session::on_bdat(const Command&) {
  // The chunk that follows BDAT would otherwise be read as commands.
  reply_and_close(smtp::make_reply(421, "4.5.0", "CHUNKING is not offered; closing connection"));
}

awaitable<void> Session::on_starttls(const Command&) {
  if (!connector_.starttls) {
    reply(502, "5.5.1", "STARTTLS not offered on this connector");
    co_return;
  }
  if (!tls_context_) {
    reply(454, "4.7.0", "TLS not available due to temporary reason");
    co_return;
  }
  reply(220, "2.0.0", "SMTP server ready");
  connection_.set_timeout(kFinalWriteTimeout);
  if (!co_await connection_.send()) {
    closing_ = true;
    co_return;
  }
  // RFC 3207 section 4.2: whatever the client sent after STARTTLS and before the handshake is
  // not a command of the TLS session (CVE-2011-0411 class): drop it.
  if (std::size_t dropped = connection_.discard_buffered())
    log_.info(fmt::format("Discarded {} bytes sent after STARTTLS before the TLS handshake", dropped));
  connection_.set_timeout(services_.config->limits.tls_handshake_timeout);
  if (shutdown_requested_) {
    closing_ = true;
    co_return;
  }
  // A client that stalls mid-handshake must not hold up a shutdown.
  interruptible_ = true;
  auto handshake = co_await connection_.start_tls_server(*tls_context_);
  interruptible_ = false;
  if (!handshake) {
    log_tls_failure(handshake.error());  // counted there, with the version the client offered
    connection_.clear_interrupt();
    closing_ = true;
    co_return;
  }
  log_tls_success();
  if (connector_.require_client_certificate) check_client_certificate();
  // RFC 3207: the session starts over; the client must EHLO again.
  greeted_ = false;
  helo_.clear();
  esmtp_ = false;
  user_.reset();  // RFC 4954 4: what was learnt before TLS is forgotten, an AUTH too
  reset_transaction();
}

void Session::log_tls_success() {
  SSL* ssl = connection_.ssl();
  auto version = tls::version_from_wire(SSL_version(ssl));
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  auto names = tls::negotiated_cipher_names(ssl);
  log_.info(tls::exchange_success_sentence(version, true, names));
  if (X509* cert = SSL_get_certificate(ssl)) {
    log_.info_value(tls::certificate_subject(cert), "Sending certificate");
    log_.info_value(tls::certificate_thumbprint(cert), "Certificate thumbprint");
  }
  tls_version_ = std::string(tls::header_name(version));
  tls_cipher_ = SSL_CIPHER_standard_name(cipher);
  metrics::tls_handshake_ok(metrics::Direction::Inbound, connector_.name, tls_version_);
}

void Session::log_tls_failure(const net::IoError& failure) {
  const auto& ec = failure.code;
  unsigned long openssl_error =
      ec.category() == asio::error::get_ssl_category() ? static_cast<unsigned long>(ec.value()) : 0;
  auto reason = tls::handshake_failure_reason(openssl_error, failure.peer_closed, failure.timed_out());
  log_.info(fmt::format("TLS negotiation failed with error {}", reason));
  const auto& hello = tls::client_hello_of(connection_.ssl());
  metrics::tls_handshake_failed(metrics::Direction::Inbound, connector_.name,
                                hello.offered.empty() ? "unknown" : tls::header_name(hello.offered.front()), reason);
  if (hello.seen) {
    log_.info(fmt::format("Client offered {}; connector accepts {} to {}", tls::describe_offered(hello),
                          tls::header_name(connector_.tls.min_version), tls::header_name(connector_.tls.max_version)));
  }
}

}  // namespace sluice::inbound
