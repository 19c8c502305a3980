#include "outbound/smtp_client.h"

#include "tls/context_policy.h"

#include <fmt/format.h>
#include <openssl/x509.h>
#include <asio/redirect_error.hpp>
#include <asio/ssl/error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>

#include "base/base64.h"
#include "base/ids.h"
#include "base/text.h"
#include "metrics/gateway_metrics.h"
#include "net/connect.h"
#include "net/connection.h"
#include "outbound/destination_policy.h"
#include "outbound/tls_report_feed.h"
#include "outbound/requiretls.h"
#include "smtp/capabilities.h"
#include "smtp/dot_stuffing.h"
#include "smtp/read_reply.h"
#include "smtp/sasl.h"
#include "tls/client_certificates.h"
#include "tls/client_context.h"
#include "tls/dane.h"
#include "tls/exchange_names.h"
#include "tls/failure_reason.h"
#include "tls/version.h"

namespace sluice::outbound {

using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;
using smtp::Reply;

namespace {

// RFC 5321 4.5.3.1.5 allows 512 octets per reply line; real servers exceed it in long
// texts, so be lenient, but not unbounded.
constexpr std::size_t kMaxReplyLine = 2048;
constexpr std::size_t kMaxReplyLines = 100;
constexpr std::size_t kDataChunk = 64 * 1024;
constexpr std::chrono::seconds kQuitTimeout{10};

/// An address may go into "MAIL FROM:<...>" only when it cannot end the command early or
/// start another one.
bool safe_path(const std::string& address) {
  if (address.size() > 510) return false;
  for (unsigned char c : address)
    if (c < 0x20 || c == 0x7f || c == '<' || c == '>') return false;
  return true;
}

bool safe_helo(const std::string& name) {
  if (name.empty() || name.size() > 255) return false;
  for (unsigned char c : name)
    if (c <= 0x20 || c >= 0x7f) return false;
  return true;
}

enum class State { Banner, Ehlo, StartTls, Auth, Transaction, Quit, Close };

class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(asio::any_io_executor executor, const ClientSettings& settings, const Target& target,
         const Transaction& transaction, TlsAttempt attempt)
      : executor_(std::move(executor)),
        settings_(settings),
        target_(target),
        transaction_(transaction),
        attempt_(attempt),
        endpoint_(net::endpoint_text(target.endpoint)) {
    result_.endpoint = endpoint_;
    result_.recipients.resize(transaction.recipients.size());
    if (settings.connector) connector_name_ = settings.connector->name;
    tls_ = target.tls;
    // A target made without a policy decision (tests, tools) gets its connector's own mode.
    if (tls_.decided_by.empty() && settings.connector) tls_ = connector_requirement(*settings.connector, target.host);
    result_.tls_policy = describe(tls_);
    helo_ = settings.helo;
    if (helo_.empty() && settings.connector) helo_ = settings.connector->helo;
    if (helo_.empty()) helo_ = "localhost";
    peer_name_ = target.host.empty() ? net::plain_address(target.endpoint.address()).to_string() : target.host;
  }

  awaitable<AttemptResult> run() {
    if (transaction_.recipients.empty()) co_return result_;
    if (transaction_.message == nullptr && !transaction_.rcpt_only) {
      fail(Failure::RemoteTransient, smtp::make_reply(451, "4.3.0", "No message content to send (internal error)"));
      co_return finished();
    }
    try {
      // GCC 12 miscompiles some co_await expressions inside an if condition (a coroutine
      // resumed after it finished): every awaited value goes into a variable first.
      bool connected = co_await connect();
      if (connected) {
        State state = State::Banner;
        while (state != State::Quit && state != State::Close) {
          switch (state) {
            case State::Banner:
              state = co_await on_banner();
              break;
            case State::Ehlo:
              state = co_await on_ehlo();
              break;
            case State::StartTls:
              state = co_await on_starttls();
              break;
            case State::Auth:
              state = co_await on_auth();
              break;
            case State::Transaction:
              state = co_await on_transaction();
              break;
            case State::Quit:
            case State::Close:
              break;
          }
        }
        if (state == State::Quit) co_await quit();
      }
    } catch (const std::exception& e) {
      // Nothing here should throw; if something does, the attempt is a dropped connection, not
      // a crash of the delivery loop.
      if (log_) log_->info(fmt::format("Internal error: {}", e.what()));
      if (result_.failure == Failure::None)
        fail(Failure::SocketError, failure_reply(Failure::SocketError, endpoint_, ""));
    }
    co_await close();
    co_return finished();
  }

 private:
  /// Fills in every recipient's final outcome (see AttemptResult::recipients).
  AttemptResult finished() {
    for (auto& r : result_.recipients) {
      bool unresolved = r.code == 0 || (r.positive() && !result_.data_accepted);
      if (unresolved && result_.reply.code != 0) r = result_.reply;
    }
    return result_;
  }

  State fail(Failure failure, Reply reply) {
    result_.failure = failure;
    result_.reply = std::move(reply);
    // A remote that answered can be told goodbye; a broken connection cannot.
    bool answered = failure == Failure::RemoteTransient || failure == Failure::RemotePermanent ||
                    failure == Failure::TlsUnavailable || failure == Failure::AuthenticationFailed;
    return answered ? State::Quit : State::Close;
  }

  State fail_remote(const Reply& reply) {
    return fail(reply.permanent() ? Failure::RemotePermanent : Failure::RemoteTransient, reply);
  }

  awaitable<bool> connect() {
    auto connected = co_await net::connect_within(executor_, target_.endpoint, settings_.timeouts.connect);
    if (!connected) {
      const std::error_code& ec = connected.error();
      std::string reason = ec == asio::error::timed_out ? std::string("TimedOut") : ec.message();
      log_.emplace(settings_.send_log, connector_name_, new_hex_id(), "", endpoint_);
      log_->info(fmt::format("Failed to connect to {} ({}): {}", peer_name_, endpoint_, reason));
      fail(Failure::ConnectFailed, failure_reply(Failure::ConnectFailed, endpoint_, reason));
      co_return false;
    }
    connection_.emplace(std::move(*connected));
    connection_->start_watchdog(shared_from_this());
    result_.local_endpoint = net::endpoint_text(connection_->local_endpoint());
    log_.emplace(settings_.send_log, connector_name_, new_hex_id(), result_.local_endpoint,
                 net::endpoint_text(connection_->remote_endpoint()));
    log_->connect();
    log_plan();
    log_->info("TLS policy: " + result_.tls_policy);
    co_return true;
  }

  void log_plan() {
    if (attempt_ == TlsAttempt::Plaintext) {
      if (tls_.level >= TlsLevel::Encrypt) {
        const bool own = tls_.source == PolicySource::Connector && settings_.connector;
        log_->info(fmt::format("Plaintext retry refused: {} ({} = {})", requires_tls_text(), own ? "tls" : "level",
                               own ? config::outbound_tls_name(settings_.connector->tls) : tls_level_name(tls_.level)));
      } else {
        log_->info(
            "Plaintext retry after a failed TLS handshake: STARTTLS will not be used (downgrade allowed by "
            "fallback_to_plaintext)");
        tls_.level = TlsLevel::None;
        downgrade_ = true;
      }
    }
  }

  /// Classifies a failed read or write and ends the session.
  State lost(std::string_view during, const net::IoError& error) {
    if (error.interrupt == net::Interrupt::KeyUpdateFlood) {
      log_->info(fmt::format("Remote sent more than {} TLS KeyUpdate messages within a minute {}",
                             net::kMaxKeyUpdatesPerMinute, during));
      return fail(Failure::SocketError, failure_reply(Failure::SocketError, endpoint_, ""));
    }
    if (error.timed_out()) {
      log_->info(fmt::format("Timed out {}", during));
      disconnect_reason_ = "Timeout";
      return fail(Failure::Timeout, failure_reply(Failure::Timeout, endpoint_, ""));
    }
    if (error.peer_closed) {
      log_->info(fmt::format("Remote closed the connection {}", during));
      disconnect_reason_ = "Remote";
    } else {
      log_->info(fmt::format("Connection error {}: {}", during, error.code.message()));
    }
    return fail(Failure::SocketError, failure_reply(Failure::SocketError, endpoint_, ""));
  }

  /// One complete reply, logged; nullopt after a failure, recorded unless `quiet`.
  awaitable<std::optional<Reply>> read_reply(std::chrono::seconds timeout, bool quiet = false) {
    auto read = co_await smtp::read_reply(*connection_, timeout, kMaxReplyLine, kMaxReplyLines);
    if (read) {
      log_->received(read->one_line());
      co_return std::move(*read);
    }
    if (quiet) co_return std::nullopt;
    const smtp::ReadError& error = read.error();
    if (error.failure == smtp::ReadFailure::Lost) {
      lost("waiting for a reply", error.io);
    } else if (error.failure == smtp::ReadFailure::TooLong) {
      log_->info(fmt::format("Reply line longer than {} octets; closing", kMaxReplyLine));
      fail(Failure::SocketError, failure_reply(Failure::SocketError, endpoint_, ""));
    } else {
      // A peer that does not speak SMTP (or speaks it wrongly) is as good as a dropped
      // connection: nothing it says afterwards can be trusted.
      log_->received(error.line);
      log_->info(fmt::format("Malformed reply: {}; closing", error.error));
      fail(Failure::SocketError, failure_reply(Failure::SocketError, endpoint_, ""));
    }
    co_return std::nullopt;
  }

  void queue_command(const std::string& command) { queue_command(command, command); }

  /// `shown` goes to the protocol log instead of a command that carries a secret.
  void queue_command(const std::string& command, std::string_view shown) {
    log_->sent(shown);
    connection_->queue(command);
    connection_->queue("\r\n");
  }

  awaitable<net::IoResult<void>> flush(std::chrono::seconds timeout) {
    connection_->set_timeout(timeout);
    co_return co_await connection_->send();
  }

  /// Sends one command and reads its reply; nullopt after a failure (already recorded). A command
  /// carrying credentials is logged as `shown` ("AUTH PLAIN ****").
  awaitable<std::optional<Reply>> command(std::string text, std::chrono::seconds timeout,
                                          std::optional<std::string_view> shown = std::nullopt) {
    queue_command(text, shown.value_or(text));
    auto written = co_await flush(timeout);
    if (!written) {
      lost("sending a command", written.error());
      co_return std::nullopt;
    }
    co_return co_await read_reply(timeout);
  }

  awaitable<State> on_banner() {
    auto banner = co_await read_reply(settings_.timeouts.banner);
    if (!banner) co_return State::Close;
    if (banner->code != 220) {
      // RFC 5321 3.1: after a 554 greeting the client should still QUIT; a 421 means the
      // server is closing anyway, where QUIT is harmless.
      if (banner->positive()) {
        log_->info("Unexpected greeting code; treating it as a temporary failure");
        co_return fail(Failure::RemoteTransient,
                       failure_reply(Failure::RemoteTransient, endpoint_, banner->one_line()));
      }
      co_return fail_remote(*banner);
    }
    co_return State::Ehlo;
  }

  awaitable<State> on_ehlo() {
    if (!safe_helo(helo_)) {
      log_->info("The configured HELO name is not a valid host name; using localhost");
      helo_ = "localhost";
    }
    auto reply = co_await command("EHLO " + helo_, settings_.timeouts.command);
    if (!reply) co_return State::Close;
    capabilities_ = {};
    if (reply->code == 250) {
      capabilities_ = smtp::parse_capabilities(*reply);
    } else if (reply->permanent()) {
      // RFC 5321 3.2: a server that does not know EHLO gets HELO.
      auto helo = co_await command("HELO " + helo_, settings_.timeouts.command);
      if (!helo) co_return State::Close;
      if (!helo->positive()) co_return fail_remote(*helo);
    } else {
      co_return fail_remote(*reply);
    }
    co_return connection_->tls_active() ? State::Auth : State::StartTls;
  }

  bool opportunistic() const { return tls_.level == TlsLevel::May; }
  /// How the log names the policy: as before for the connector's own mode, else by its source.
  std::string opportunistic_text() const {
    return tls_.source == PolicySource::Connector ? "connector is opportunistic" : "TLS policy is opportunistic";
  }
  std::string requires_tls_text() const {
    if (tls_.source == PolicySource::Connector) return "send connector requires TLS";
    return fmt::format("the TLS policy ({}) requires TLS", policy_source_name(tls_.source));
  }

  /// Whether the server asked for a client certificate, and what was sent: the first thing to check
  /// when a smart host (an Exchange Online connector by certificate) does not recognise sluice.
  void log_client_certificate(SSL* ssl) {
    X509* own = SSL_get_certificate(ssl);
    if (!tls::server_requested_certificate(ssl)) {
      if (own) log_->info("Remote did not ask for a client certificate; none sent");
      return;
    }
    if (own)
      log_->info_value(tls::certificate_subject(own), "Remote asked for a client certificate; sent certificate");
    else
      log_->info("Remote asked for a client certificate; none configured (tls_policy.certificate), none sent");
  }

  State tls_unavailable(const std::string& detail) {
    return fail(Failure::TlsUnavailable, failure_reply(Failure::TlsUnavailable, endpoint_, detail));
  }

  awaitable<State> on_starttls() {
    if (tls_.level == TlsLevel::None) {
      if (!downgrade_) log_->info("STARTTLS not attempted: send connector has tls = none");
      without_tls_ =
          downgrade_ ? "this is the plaintext retry after a failed TLS handshake" : "the connector has tls = none";
      co_return State::Auth;
    }
    const std::string mode_name =
        opportunistic() ? opportunistic_text()
        : tls_.source == PolicySource::Connector
            ? std::string("connector requires TLS")
            : fmt::format("the TLS policy ({}) requires TLS", policy_source_name(tls_.source));
    if (settings_.tls_context == nullptr) {
      log_->info(fmt::format("No client TLS context configured ({})", mode_name));
      without_tls_ = "no client TLS context is configured";
      if (opportunistic()) co_return State::Auth;
      co_return tls_unavailable("no client TLS context configured");
    }
    if (!capabilities_.starttls) {
      if (opportunistic()) {
        log_->info(fmt::format("Remote does not offer STARTTLS; sending in plaintext ({})", opportunistic_text()));
        without_tls_ = "the server does not offer STARTTLS";
        co_return State::Auth;
      }
      log_->info(fmt::format("Remote does not offer STARTTLS; not sending ({})", mode_name));
      result_.tls_result_type = kStarttlsNotSupported;
      co_return tls_unavailable("");
    }
    auto reply = co_await command("STARTTLS", settings_.timeouts.command);
    if (!reply) co_return State::Close;
    if (reply->code != 220) {
      if (reply->code == 421) co_return fail_remote(*reply);
      if (opportunistic()) {
        log_->info(fmt::format("Remote refused STARTTLS ({}); sending in plaintext ({})", reply->one_line(),
                               opportunistic_text()));
        without_tls_ = fmt::format("the server refused STARTTLS ({})", reply->one_line());
        co_return State::Auth;
      }
      log_->info(fmt::format("Remote refused STARTTLS; not sending ({})", mode_name));
      result_.tls_result_type = kStarttlsNotSupported;
      co_return tls_unavailable(reply->one_line());
    }
    co_return co_await handshake();
  }

  /// The send connector's name for the metrics ("" for a session without one).
  std::string_view connector_name() const {
    if (settings_.connector) return settings_.connector->name;
    return {};
  }

  awaitable<State> handshake() {
    // RFC 3207 4.2 and the STARTTLS injection class: nothing the server sent before the
    // handshake may be read as a reply inside TLS.
    if (std::size_t dropped = connection_->discard_buffered())
      log_->info(
          fmt::format("Discarded {} bytes received after the STARTTLS reply, before the TLS handshake", dropped));
    const bool verify = tls_.level == TlsLevel::Verify && !tls_.testing;
    connection_->set_timeout(settings_.timeouts.tls_handshake);
    auto started = co_await connection_->start_tls_client(*settings_.tls_context, [&](SSL* ssl) { prepare(ssl); });
    SSL* ssl = connection_->ssl();
    if (!started) {
      const auto& ec = started.error().code;
      unsigned long openssl_error =
          ec.category() == asio::error::get_ssl_category() ? static_cast<unsigned long>(ec.value()) : 0;
      const bool timed_out = started.error().timed_out(), peer_closed = started.error().peer_closed;
      auto reason = tls::handshake_failure_reason(openssl_error, peer_closed, timed_out);
      metrics::tls_handshake_failed(metrics::Direction::Outbound, connector_name(), "unknown", reason);
      // Exchange's send side reports every failed handshake as SocketError; the precise cause
      // follows on its own line.
      log_->info("TLS negotiation failed with error SocketError");
      std::string detail = timed_out ? std::string("no answer within the handshake timeout") : ec.message();
      log_->info(fmt::format("TLS handshake failed: {} ({})", reason, detail));
      disconnect_reason_ = timed_out ? "Timeout" : peer_closed ? "Remote" : "Local";
      long verify_result = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
      // Only a verified session's verify result says why: otherwise the chain was not checked.
      result_.tls_result_type = verify ? tls_result_type_of(verify_result) : std::string(kValidationFailure);
      if (tls_.level == TlsLevel::Dane && (verify_result != X509_V_OK || !dane_setup_error_.empty()))
        co_return dane_rejected(ssl);
      if (verify && verify_result != X509_V_OK) {
        std::string why = X509_verify_cert_error_string(verify_result);
        if (tls_.source != PolicySource::Connector)
          why += fmt::format(" ({} policy of {})", policy_source_name(tls_.source), tls_.policy_domain);
        log_->info(fmt::format("Certificate of {} rejected: {}", peer_name_, why));
        co_return fail(Failure::CertificateInvalid, failure_reply(Failure::CertificateInvalid, peer_name_, why));
      }
      result_.may_fall_back = opportunistic() && tls_.fallback_to_plaintext && attempt_ == TlsAttempt::Policy;
      if (result_.may_fall_back && authenticates()) {
        // Credentials go only inside TLS: a plaintext retry could not authenticate anyway.
        log_->info("No plaintext retry: the connector authenticates, and credentials are sent only inside TLS");
        result_.may_fall_back = false;
      }
      if (result_.may_fall_back)
        log_->info("Connector is opportunistic with fallback_to_plaintext: the next attempt goes without STARTTLS");
      co_return fail(Failure::SocketError, failure_reply(Failure::SocketError, endpoint_, ""));
    }
    auto version = tls::version_from_wire(SSL_version(ssl));
    log_->info(tls::exchange_success_sentence(version, false, tls::negotiated_cipher_names(ssl)));
    if (X509* cert = SSL_get0_peer_certificate(ssl)) {
      log_->info_value(tls::certificate_subject(cert), "Received certificate");
      log_->info_value(tls::certificate_thumbprint(cert), "Certificate thumbprint");
    }
    if (verify) log_->info_value(peer_name_, "Validated received certificate");
    if (tls_.level == TlsLevel::Dane && !dane_accepted(ssl)) co_return dane_rejected(ssl);
    if (tls_.testing) log_testing_verdict(ssl);
    if (tls_.testing && SSL_get_verify_result(ssl) != X509_V_OK)
      result_.tls_result_type = tls_result_type_of(SSL_get_verify_result(ssl));  // testing: reported (RFC 8461 5)
    log_client_certificate(ssl);
    result_.tls = true;
    result_.tls_version = std::string(tls::header_name(version));
    metrics::tls_handshake_ok(metrics::Direction::Outbound, connector_name(), result_.tls_version);
    if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl)) result_.tls_cipher = SSL_CIPHER_standard_name(cipher);
    // RFC 3207 4.2: forget everything learned before TLS and greet again.
    capabilities_ = {};
    co_return State::Ehlo;
  }

  /// Per-session TLS settings of the requirement: SNI, the names and chain to verify, a raised
  /// minimum version.
  void prepare(SSL* ssl) {
    tls::set_client_peer(ssl, peer_name_, false);
    if (tls_.level == TlsLevel::Verify) {
      const auto& names = tls_.match_names.empty() ? std::vector<std::string>{peer_name_} : tls_.match_names;
      tls::set_client_verification(ssl, names, !tls_.testing);
    } else if (tls_.level == TlsLevel::Dane) {
      prepare_dane(ssl);
    } else {
      SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
    }
    if (tls_.min_version) {
      const int wanted = tls::wire_value(*tls_.min_version);
      if (SSL_get_min_proto_version(ssl) < wanted) SSL_set_min_proto_version(ssl, wanted);
    }
  }

  /// The TLSA base domain: the MX host name (RFC 7672 2.2.3).
  const std::string& dane_host() const { return tls_.match_names.empty() ? peer_name_ : tls_.match_names.front(); }

  /// DANE (RFC 7672) on this session: the usable TLSA records and the reference names. A setup
  /// OpenSSL refuses is remembered and fails the session after the handshake (never unchecked TLS).
  void prepare_dane(SSL* ssl) {
    const auto& names = tls_.match_names.empty() ? std::vector<std::string>{peer_name_} : tls_.match_names;
    auto set = tls::set_dane_peer(ssl, names, tls_.tlsa);
    if (!set) dane_setup_error_ = set.error().message;
  }

  /// After a completed handshake: logs which TLSA record matched; false when none did.
  bool dane_accepted(SSL* ssl) {
    if (!dane_setup_error_.empty()) return false;
    auto match = tls::dane_match(ssl, dane_host());
    if (!match) return false;
    log_->info("DANE: " + *match);
    return true;
  }

  /// Defers the message: the certificate chain matched no TLSA record (or DANE could not be set up).
  State dane_rejected(SSL* ssl) {
    std::string why = !dane_setup_error_.empty() ? "DANE could not be set up: " + dane_setup_error_
                                                 : tls::dane_failure(ssl, dane_host(), tls_.tlsa);
    log_->info("DANE: " + why);
    return fail(Failure::CertificateInvalid, failure_reply(Failure::CertificateInvalid, peer_name_, why));
  }

  /// MTA-STS testing: the checks ran without stopping the handshake; say what enforce would do.
  void log_testing_verdict(SSL* ssl) {
    const long verdict = SSL_get_verify_result(ssl);
    if (verdict == X509_V_OK) {
      log_->info_value(peer_name_, "Validated received certificate (policy in testing mode)");
      return;
    }
    log_->info(fmt::format("Certificate of {} would be rejected: {} ({} policy of {} is in testing mode: delivering)",
                           peer_name_, X509_verify_cert_error_string(verdict), policy_source_name(tls_.source),
                           tls_.policy_domain));
  }

  bool authenticates() const {
    return settings_.connector != nullptr && settings_.connector->auth.mechanism != config::SendAuthMechanism::None;
  }

  /// Defers the message: authentication did not happen, `detail` says why (failure_reply).
  State cannot_authenticate(const std::string& detail) {
    return fail(Failure::AuthenticationFailed, failure_reply(Failure::AuthenticationFailed, endpoint_, detail));
  }

  /// RFC 4954 AUTH with the connector's mechanism, only inside TLS. Every failure defers: the
  /// message is not at fault, and a 535 must not bounce mail that fixed credentials would deliver.
  awaitable<State> on_auth() {
    if (!authenticates()) co_return State::Transaction;
    const config::SendAuth& auth = settings_.connector->auth;
    const std::string mechanism = ascii_upper(config::send_auth_mechanism_name(auth.mechanism));
    if (!connection_->tls_active()) {
      log_->info(fmt::format("Not authenticating without TLS ({}); not sending", without_tls_));
      co_return cannot_authenticate(
          fmt::format("no TLS ({}), and the send connector sends credentials only inside TLS", without_tls_));
    }
    if (!capabilities_.offers_auth(mechanism)) {
      const std::string offered = fmt::format("{}", fmt::join(capabilities_.auth_mechanisms, " "));
      log_->info(fmt::format("Remote does not offer AUTH {}; not sending", mechanism));
      co_return cannot_authenticate(fmt::format("it does not offer AUTH {} ({})", mechanism,
                                                offered.empty() ? "no AUTH at all" : "it offers " + offered));
    }
    const auto timeout = settings_.timeouts.command;
    std::optional<Reply> reply;
    std::string token, server_error;
    if (auth.mechanism == config::SendAuthMechanism::XOAuth2) {
      if (settings_.token_source == nullptr) co_return cannot_authenticate("no OAuth token source (internal error)");
      auto fetched = co_await settings_.token_source->token();
      if (!fetched) {
        log_->info(fmt::format("No OAuth access token: {}", fetched.error().message));
        co_return cannot_authenticate("no OAuth access token: " + fetched.error().message);
      }
      token = std::move(fetched->value);
      log_->info(fmt::format("Authenticating as {} with XOAUTH2", auth.username));
      reply = co_await command("AUTH XOAUTH2 " + smtp::xoauth2_response(auth.username, token), timeout,
                               "AUTH XOAUTH2 ****");
      if (reply && reply->code == 334) {
        // The refusal comes first as a base64 JSON error; an empty line gets the final reply.
        auto decoded = base64_decode(reply->lines.empty() ? "" : reply->lines.front());
        server_error = decoded ? *decoded : reply->one_line();
        log_->info(fmt::format("XOAUTH2 error from the server: {}", server_error));
        reply = co_await command("", timeout);
      }
    } else {
      if (settings_.password == nullptr) co_return cannot_authenticate("no password loaded (internal error)");
      log_->info(fmt::format("Authenticating as {} with {}", auth.username, mechanism));
      if (auth.mechanism == config::SendAuthMechanism::Plain) {
        reply = co_await command("AUTH PLAIN " + smtp::plain_response(auth.username, *settings_.password), timeout,
                                 "AUTH PLAIN ****");
      } else {
        reply = co_await command("AUTH LOGIN", timeout);
        if (reply && reply->code == 334) reply = co_await command(base64_encode(auth.username), timeout, "****");
        if (reply && reply->code == 334) reply = co_await command(base64_encode(*settings_.password), timeout, "****");
      }
    }
    if (!reply) co_return State::Close;
    if (reply->code == 334) {
      // A challenge where none belongs: RFC 4954 4's "*" cancels the exchange.
      log_->info("Unexpected challenge; cancelling the authentication");
      reply = co_await command("*", timeout);
      if (!reply) co_return State::Close;
    }
    if (reply->code == 235) {
      log_->info(fmt::format("Authenticated as {}", auth.username));
      co_return State::Transaction;
    }
    if (!token.empty() && (reply->code == 535 || reply->code == 534)) settings_.token_source->rejected(token);
    log_->info(fmt::format("Authentication refused; not sending"));
    co_return cannot_authenticate(server_error.empty()
                                      ? reply->one_line()
                                      : fmt::format("{} (XOAUTH2 error: {})", reply->one_line(), server_error));
  }

  awaitable<State> on_transaction() {
    const auto& t = transaction_;
    const std::uint64_t size = t.rcpt_only ? 0 : t.message->size();
    if (!safe_path(t.mail_from)) {
      log_->info("Sender address contains characters that cannot be sent; not sending");
      co_return fail(Failure::RemotePermanent, smtp::make_reply(501, "5.1.7", "Invalid sender address (not sent)"));
    }
    if (auto refused = requiretls_refusal(t, tls_, peer_name_, connection_->tls_active(), capabilities_)) {
      log_->info(fmt::format("Not sending the REQUIRETLS message (RFC 8689): {}", refused->one_line()));
      co_return fail(Failure::TlsUnavailable, *refused);  // the next target may do; settle_requiretls() decides
    }
    if (t.smtputf8 && !capabilities_.smtputf8) {
      log_->info("Remote does not offer SMTPUTF8 and the message needs it; not sending");
      co_return fail(
          Failure::RemotePermanent,
          smtp::make_reply(553, "5.6.7", "Remote server does not support SMTPUTF8, which the message requires"));
    }
    if (!t.rcpt_only && capabilities_.size && capabilities_.size_limit > 0 && size > capabilities_.size_limit) {
      log_->info(
          fmt::format("Message size {} exceeds the remote's SIZE {}; not sending", size, capabilities_.size_limit));
      co_return fail(
          Failure::RemotePermanent,
          smtp::make_reply(552, "5.3.4",
                           fmt::format("Message size ({} octets) exceeds the remote server's limit ({} octets)", size,
                                       capabilities_.size_limit)));
    }
    if (t.move && !capabilities_.move) {
      log_->info("Remote does not offer XMOVE (it does not take moved mail from us); not sending");
      co_return fail(
          Failure::RemotePermanent,
          smtp::make_reply(550, "5.5.1",
                           "Remote server does not offer XMOVE: it does not take moved mail from this client"));
    }
    result_.transaction_started = true;
    std::string mail = "MAIL FROM:<" + t.mail_from + ">";
    if (capabilities_.size && !t.rcpt_only) mail += fmt::format(" SIZE={}", size);
    if (t.eight_bit) {
      if (capabilities_.eight_bit_mime)
        mail += " BODY=8BITMIME";
      else
        log_->info("Remote does not offer 8BITMIME; sending the 8-bit message without BODY=8BITMIME");
    }
    if (t.smtputf8) mail += " SMTPUTF8";
    if (sends_requiretls(t, connection_->tls_active(), capabilities_))
      mail += " REQUIRETLS";
    else if (t.requiretls)  // only a notice gets here (requiretls_refusal)
      log_->info(
          "Remote does not offer REQUIRETLS; sending the notice of a REQUIRETLS message without it (RFC 8689 5)");

    if (t.move) mail += t.move_mail_parameters;

    // Recipients that cannot be written safely are refused here and never sent.
    std::vector<std::size_t> sent;
    for (std::size_t i = 0; i < t.recipients.size(); ++i) {
      if (safe_path(t.recipients[i]) && !t.recipients[i].empty())
        sent.push_back(i);
      else
        result_.recipients[i] = smtp::make_reply(501, "5.1.3", "Invalid recipient address (not sent)");
    }
    if (sent.empty()) {
      log_->info("No recipient address can be sent; not sending");
      co_return State::Quit;
    }

    std::optional<Reply> mail_reply, data_reply;
    std::size_t accepted = 0;
    if (capabilities_.pipelining) {
      // RFC 2920: MAIL, every RCPT and DATA in one write, the replies read in order.
      queue_command(mail);
      for (auto i : sent) queue_command(rcpt_command(i));
      if (!t.rcpt_only) queue_command("DATA");
      auto written = co_await flush(settings_.timeouts.command);
      if (!written) co_return lost("sending commands", written.error());
      mail_reply = co_await read_reply(settings_.timeouts.command);
      if (!mail_reply) co_return State::Close;
      for (auto i : sent) {
        auto r = co_await read_reply(settings_.timeouts.command);
        if (!r) co_return State::Close;
        if (r->positive() && mail_reply->positive()) ++accepted;
        result_.recipients[i] = *r;
      }
      if (t.rcpt_only) {
        if (mail_reply->positive()) co_return State::Quit;
        for (auto i : sent) result_.recipients[i] = Reply{};  // 503s after a refused MAIL say nothing
        co_return fail_remote(*mail_reply);
      }
      data_reply = co_await read_reply(settings_.timeouts.data_init);
      if (!data_reply) co_return State::Close;
      if (!mail_reply->positive()) {
        // RCPT replies after a refused MAIL say nothing about the recipients (usually 503).
        for (auto i : sent) result_.recipients[i] = Reply{};
      }
      if (!mail_reply->positive() || accepted == 0) {
        if (data_reply->code == 354) {
          // RFC 2920 3.1: the server took DATA although nothing can be delivered; end it empty.
          log_->info("Remote accepted DATA without a valid sender or recipient; sending an empty message to end it");
          queue_command(".");
          auto ended = co_await flush(settings_.timeouts.data_block);
          if (!ended) co_return lost("ending an empty message", ended.error());
          auto end_reply = co_await read_reply(settings_.timeouts.data_term);
          if (!end_reply) co_return State::Close;
        }
      }
    } else {
      mail_reply = co_await command(mail, settings_.timeouts.command);
      if (!mail_reply) co_return State::Close;
      if (mail_reply->positive()) {
        for (auto i : sent) {
          auto r = co_await command(rcpt_command(i), settings_.timeouts.command);
          if (!r) co_return State::Close;
          if (r->positive()) ++accepted;
          result_.recipients[i] = *r;
        }
      }
    }
    if (!mail_reply->positive()) co_return fail_remote(*mail_reply);
    // A probe asks, it does not send: the RCPT replies are its answer.
    if (t.rcpt_only) co_return State::Quit;
    if (accepted == 0) {
      log_->info("No recipient was accepted; not sending the message");
      // Per-recipient replies say why; a rejected RCPT under pipelining may have left none set.
      for (auto i : sent)
        if (result_.recipients[i].code == 0) result_.recipients[i] = *mail_reply;
      co_return State::Quit;
    }
    if (!capabilities_.pipelining) {
      data_reply = co_await command("DATA", settings_.timeouts.data_init);
      if (!data_reply) co_return State::Close;
    }
    if (data_reply->code != 354) co_return fail_remote(*data_reply);

    const std::string payload = smtp::dot_stuff(*t.message);
    log_->info(fmt::format("Sending message ({} octets)", payload.size()));
    for (std::size_t offset = 0; offset < payload.size(); offset += kDataChunk) {
      connection_->queue(std::string_view(payload).substr(offset, kDataChunk));
      auto sent_chunk = co_await flush(settings_.timeouts.data_block);
      if (!sent_chunk) co_return lost("sending the message", sent_chunk.error());
    }
    auto final_reply = co_await read_reply(settings_.timeouts.data_term);
    if (!final_reply) co_return State::Close;
    for (auto i : sent)
      if (result_.recipients[i].positive()) result_.recipients[i] = *final_reply;
    if (!final_reply->positive()) co_return fail_remote(*final_reply);
    result_.data_accepted = true;
    co_return State::Quit;
  }

  std::string rcpt_command(std::size_t i) const {
    const auto& t = transaction_;
    std::string rcpt = "RCPT TO:<" + t.recipients[i] + ">";
    if (t.move && i < t.move_recipient_parameters.size()) rcpt += t.move_recipient_parameters[i];
    return rcpt;
  }

  awaitable<void> quit() {
    if (!connection_ || connection_->closed()) co_return;
    connection_->clear_interrupt();
    auto timeout = std::min(settings_.timeouts.command, kQuitTimeout);
    queue_command("QUIT");
    auto written = co_await flush(timeout);
    if (written) co_await read_reply(timeout, /*quiet=*/true);
  }

  awaitable<void> close() {
    if (!connection_) co_return;
    if (!connection_->closed()) {
      log_->disconnect(disconnect_reason_);
      co_await connection_->close();
    }
  }

  asio::any_io_executor executor_;
  const ClientSettings& settings_;
  const Target& target_;
  const Transaction& transaction_;
  TlsAttempt attempt_;
  std::string endpoint_;
  std::string connector_name_;
  TlsRequirement tls_;
  bool downgrade_ = false;
  std::string without_tls_ = "STARTTLS was not attempted";  ///< why the session is in plaintext, for AUTH's refusal
  std::string helo_;
  std::string peer_name_;
  std::string dane_setup_error_;  ///< why prepare_dane failed, if it did
  std::optional<net::Connection> connection_;
  std::optional<protocol_log::SessionLog> log_;
  smtp::Capabilities capabilities_;
  std::string disconnect_reason_ = "Local";
  AttemptResult result_;
};

}  // namespace

awaitable<AttemptResult> deliver(asio::any_io_executor executor, const ClientSettings& settings, const Target& target,
                                 const Transaction& transaction, TlsAttempt tls) {
  auto client = std::make_shared<Client>(std::move(executor), settings, target, transaction, tls);
  co_return co_await client->run();
}

}  // namespace sluice::outbound
