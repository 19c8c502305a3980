#include "probe/attempt.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <asio/co_spawn.hpp>
#include <asio/ssl/error.hpp>

#include <algorithm>
#include <cctype>

#include "base/lookup.h"
#include "net/connect.h"
#include "net/connection.h"
#include "probe/cipher_catalog.h"
#include "probe/server_flight.h"
#include "smtp/capabilities.h"
#include "smtp/read_reply.h"
#include "tls/client_context.h"

namespace sluice::probe {
namespace {

using asio::awaitable;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxReplyLine = 4096;

/// The first alert the server sent, found through our own ex_data slot (asio keeps its verify
/// callback in the SSL's app data).
struct AlertRecord {
  std::string received;
};

int alert_slot() {
  static const int slot = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return slot;
}

void on_info(const SSL* ssl, int where, int value) {
  if (!(where & SSL_CB_READ_ALERT)) return;
  auto* record = static_cast<AlertRecord*>(SSL_get_ex_data(ssl, alert_slot()));
  // A close_notify after the handshake is not a refusal; only the first real alert counts.
  if (record && record->received.empty() && (value & 0xff) != SSL_AD_CLOSE_NOTIFY)
    record->received = SSL_alert_desc_string_long(value);
}

const SSL_CIPHER* cipher_by_id(SSL* ssl, std::uint16_t id) {
  const unsigned char bytes[2] = {static_cast<unsigned char>(id >> 8), static_cast<unsigned char>(id & 0xff)};
  return SSL_CIPHER_find(ssl, bytes);
}

KeyExchangeKind kind_of(const SSL_CIPHER* cipher) {
  if (!cipher) return KeyExchangeKind::Other;
  // PSK variants start their ServerKeyExchange with an identity hint; OpenSSL offers none of them
  // without a PSK callback, so they read as "other" should a server pick one anyway.
  switch (SSL_CIPHER_get_kx_nid(cipher)) {
    case NID_kx_ecdhe:
      return KeyExchangeKind::Ecdhe;
    case NID_kx_dhe:
      return KeyExchangeKind::Dhe;
    default:
      return KeyExchangeKind::Other;
  }
}

std::string drain(BIO* bio) {
  std::string out;
  char chunk[4096];
  int n = 0;
  while ((n = BIO_read(bio, chunk, sizeof chunk)) > 0) out.append(chunk, static_cast<std::size_t>(n));
  return out;
}

struct Reading {
  std::optional<smtp::Reply> reply;
  Outcome failure = Outcome::Broken;  ///< when no reply
  std::string detail;
};

awaitable<Reading> read_reply(net::Connection& conn, Clock::duration timeout) {
  auto read = co_await smtp::read_reply(conn, timeout, kMaxReplyLine);
  Reading r;
  if (read) {
    r.reply = std::move(*read);
    co_return r;
  }
  const smtp::ReadError& error = read.error();
  if (error.failure == smtp::ReadFailure::Lost) {
    if (error.io.interrupt == net::Interrupt::Timeout) {
      r.failure = Outcome::Timeout;
      r.detail = "no reply in time";
    } else {
      r.detail = error.io.peer_closed ? "connection closed by the server" : error.io.code.message();
    }
  } else if (error.failure == smtp::ReadFailure::TooLong) {
    r.detail = "reply line too long";
  } else {
    r.detail = "not an SMTP reply: " + error.error;
  }
  co_return r;
}

std::string key_exchange_of(SSL* ssl) {
  EVP_PKEY* key = nullptr;
  if (!SSL_get_peer_tmp_key(ssl, &key) || !key) return "RSA";
  std::string out;
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_X25519:
      out = "X25519";
      break;
    case EVP_PKEY_X448:
      out = "X448";
      break;
    case EVP_PKEY_EC: {
      char name[80] = {};
      size_t len = 0;
      if (EVP_PKEY_get_group_name(key, name, sizeof name, &len)) {
        out = name;
        if (out == "prime256v1") out = "secp256r1";
      } else {
        out = "EC";
      }
      break;
    }
    case EVP_PKEY_DH: {
      int group = SSL_get_negotiated_group(ssl);
      const char* known = group > 0 ? SSL_group_to_name(ssl, group) : nullptr;
      out = known && std::string_view(known).starts_with("ffdhe") ? known
                                                                  : "DH " + std::to_string(EVP_PKEY_get_bits(key));
      break;
    }
    default:
      out = EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "unknown";
  }
  EVP_PKEY_free(key);
  return out;
}

std::vector<CertificatePtr> chain_of(SSL* ssl) {
  std::vector<CertificatePtr> out;
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  for (int i = 0; chain && i < sk_X509_num(chain); ++i) {
    X509* cert = sk_X509_value(chain, i);
    X509_up_ref(cert);
    out.emplace_back(cert, X509_free);
  }
  return out;
}

// Many servers hang up on a ClientHello they do not like instead of sending an alert.
constexpr const char* kClosedWithoutAlert = "connection closed during the handshake, no alert";

std::string openssl_reason(const std::error_code& ec) {
  if (ec.category() != asio::error::get_ssl_category()) return ec.message();
  const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
  return reason ? reason : ec.message();
}

class Attempt {
 public:
  Attempt(const Target& target, const AttemptContext& context, const AttemptSpec& spec)
      : target_(target), context_(context), spec_(spec) {}

  awaitable<AttemptResult> run(const asio::any_io_executor& executor, asio::ip::tcp::endpoint address) {
    auto started = Clock::now();
    auto connected = co_await net::connect_within(executor, address, context_.timeouts.connect);
    if (!connected) {
      const bool timed_out = connected.error() == asio::error::timed_out;
      result_.outcome = timed_out ? Outcome::Timeout : Outcome::ConnectFailed;
      result_.detail = timed_out ? "connect timed out" : connected.error().message();
    } else {
      conn_ = std::make_shared<net::Connection>(std::move(*connected));
      conn_->start_watchdog(conn_);
      co_await dialogue();
      co_await conn_->close();
    }
    result_.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    co_return std::move(result_);
  }

 private:
  awaitable<void> dialogue() {
    if (target_.mode == TlsMode::Implicit) {
      if (!co_await handshake()) co_return;
      if (!co_await greeting()) co_return;
      if (!co_await ehlo(result_.smtp.ehlo_after_tls)) co_return;
      co_await quit();
      co_return;
    }
    if (!co_await greeting()) co_return;
    if (!co_await ehlo(result_.smtp.ehlo)) co_return;
    if (spec_.discovery && !co_await mail_before_tls()) co_return;
    if (!smtp::parse_capabilities(*result_.smtp.ehlo).starttls) {
      result_.outcome = Outcome::NoStartTls;
      result_.detail = "STARTTLS not offered";
      co_await quit();
      co_return;
    }
    auto reply = co_await command(spec_.injection_test ? "STARTTLS\r\nNOOP\r\n" : "STARTTLS\r\n", "STARTTLS");
    if (!reply) co_return;
    result_.smtp.starttls_reply = reply;
    if (reply->code != 220) {
      result_.outcome = Outcome::StartTlsRefused;
      result_.detail = reply->one_line();
      co_await quit();
      co_return;
    }
    // RFC 3207: nothing sent before the handshake is part of the TLS session. A server that
    // already answered our pipelined NOOP in plaintext is not vulnerable, only impatient.
    result_.smtp.bytes_after_starttls_reply = conn_->discard_buffered();
    if (!co_await handshake()) co_return;
    if (spec_.discovery && !co_await ehlo(result_.smtp.ehlo_after_tls)) co_return;
    co_await quit();
  }

  awaitable<bool> send() {
    conn_->set_timeout(context_.timeouts.command);
    auto sent = co_await conn_->send();
    if (sent) co_return true;
    result_.outcome = sent.error().timed_out() ? Outcome::Timeout : Outcome::Broken;
    result_.detail = "could not send: " + sent.error().code.message();
    co_return false;
  }

  void lost(const Reading& reading, std::string_view when) {
    result_.outcome = reading.failure;
    result_.detail = std::string(reading.detail) + " " + std::string(when);
  }

  /// Sends `line` (CRLF included) and reads the reply; nullopt after a failure, recorded as
  /// one "after `verb`".
  awaitable<std::optional<smtp::Reply>> command(std::string line, const char* verb) {
    conn_->queue(line);
    if (!co_await send()) co_return std::nullopt;
    auto reading = co_await read_reply(*conn_, context_.timeouts.command);
    if (!reading.reply) lost(reading, std::string("after ") + verb);
    co_return std::move(reading.reply);
  }

  awaitable<bool> greeting() {
    auto asked = Clock::now();
    auto reading = co_await read_reply(*conn_, context_.timeouts.banner);
    result_.smtp.banner_delay = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - asked);
    if (!reading.reply) {
      lost(reading, "waiting for the greeting");
      if (reading.failure == Outcome::Timeout)
        result_.detail = fmt::format("no greeting within {:.1f} s (a tarpit, or not an SMTP server)",
                                     context_.timeouts.banner.count() / 1000.0);
      co_return false;
    }
    result_.smtp.banner = reading.reply;
    if (reading.reply->code != 220) {
      result_.outcome = Outcome::Refused;
      result_.detail = reading.reply->one_line();
      co_await quit();
      co_return false;
    }
    co_return true;
  }

  awaitable<bool> ehlo(std::optional<smtp::Reply>& into) {
    auto reply = co_await command("EHLO " + context_.helo + "\r\n", "EHLO");
    if (!reply) co_return false;
    into = reply;
    if (into->code == 250) co_return true;
    // RFC 5321 3.2: a server that does not know EHLO gets HELO (and offers no STARTTLS).
    co_return (co_await command("HELO " + context_.helo + "\r\n", "HELO")).has_value();
  }

  awaitable<bool> mail_before_tls() {
    auto reply = co_await command("MAIL FROM:<>\r\n", "MAIL FROM");
    if (!reply) co_return false;
    result_.smtp.mail_before_tls = reply;
    if (reply->code == 421) {
      // The server is closing the session (RFC 5321 3.8): busy or rate limited, not an answer.
      result_.outcome = Outcome::Refused;
      result_.detail = reply->one_line();
      co_return false;
    }
    co_return (co_await command("RSET\r\n", "RSET")).has_value();
  }

  /// The versions, suites and server name this attempt offers.
  void configure(SSL* ssl) const {
    SSL_set_min_proto_version(ssl, tls::wire_value(spec_.min));
    SSL_set_max_proto_version(ssl, tls::wire_value(spec_.max));
    if (!spec_.cipher_list.empty()) SSL_set_cipher_list(ssl, (spec_.cipher_list + ":@SECLEVEL=0").c_str());
    if (!spec_.ciphersuites.empty()) SSL_set_ciphersuites(ssl, spec_.ciphersuites.c_str());
    tls::set_client_peer(ssl, target_.host, false);
  }

  awaitable<bool> handshake() {
    if (spec_.hello_only) co_return co_await hello_only();
    AlertRecord alert;
    std::function<void(SSL*)> prepare = [&alert, this](SSL* ssl) {
      SSL_set_ex_data(ssl, alert_slot(), &alert);
      SSL_set_info_callback(ssl, on_info);
      configure(ssl);
    };
    conn_->set_timeout(context_.timeouts.handshake);
    auto started = co_await conn_->start_tls_client(*context_.ssl, prepare);
    SSL* ssl = conn_->ssl();
    if (ssl) SSL_set_ex_data(ssl, alert_slot(), nullptr);
    result_.alert = alert.received;
    if (!started) {
      handshake_failed(alert.received, started.error());
      co_return false;
    }
    result_.outcome = Outcome::Negotiated;
    result_.tls.version = tls::version_from_wire(SSL_version(ssl));
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
    result_.tls.cipher = cipher ? SSL_CIPHER_get_name(cipher) : "";
    result_.tls.bits = cipher ? SSL_CIPHER_get_bits(cipher, nullptr) : 0;
    result_.tls.key_exchange = key_exchange_of(ssl);
    result_.tls.chain = chain_of(ssl);
    co_return true;
  }

  /// Why a handshake ended before the server's choice was known, the same for both kinds of
  /// attempt: our timeout, the server's alert, a hang-up, or the local error (`io`: how the
  /// connection failed; none when the server's alert ended it).
  void handshake_failed(const std::string& alert, const net::IoError& io = {}) {
    result_.alert = alert;
    result_.outcome = Outcome::HandshakeFailed;
    if (io.timed_out()) {
      result_.outcome = Outcome::Timeout;
      result_.detail = "TLS handshake timed out";
    } else if (!alert.empty()) {
      result_.detail = "alert " + alert;
    } else if (io.peer_closed) {
      result_.detail = kClosedWithoutAlert;
    } else {
      result_.detail = openssl_reason(io.code);
    }
  }

  /// AttemptSpec::hello_only. OpenSSL writes the ClientHello into memory; the server's answer is
  /// read here and never given to OpenSSL. Returns false: the session cannot go on to QUIT.
  awaitable<bool> hello_only() {
    std::unique_ptr<SSL, decltype(&SSL_free)> owned(SSL_new(context_.ssl->native_handle()), SSL_free);
    SSL* ssl = owned.get();
    SSL_set_bio(ssl, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
    configure(ssl);
    SSL_set_connect_state(ssl);
    ERR_clear_error();
    SSL_do_handshake(ssl);
    std::string hello = drain(SSL_get_wbio(ssl));
    if (hello.empty()) {
      result_.outcome = Outcome::HandshakeFailed;
      const char* reason = ERR_reason_error_string(ERR_peek_last_error());
      result_.detail = std::string("no ClientHello could be built: ") + (reason ? reason : "unknown");
      co_return false;
    }
    conn_->queue(hello);
    if (!co_await send()) co_return false;
    conn_->set_timeout(context_.timeouts.handshake);
    auto kind = [ssl](std::uint16_t id) { return kind_of(cipher_by_id(ssl, id)); };
    for (;;) {
      ServerFlight flight = read_server_flight(conn_->buffered(), kind);
      switch (flight.status) {
        case ServerFlight::Status::Incomplete:
          if (auto more = co_await conn_->fill(); !more) {
            handshake_failed("", more.error());
            co_return false;
          }
          continue;
        case ServerFlight::Status::Alert:
          handshake_failed(SSL_alert_desc_string_long(flight.alert));
          co_return false;
        case ServerFlight::Status::Invalid:
          result_.outcome = Outcome::Broken;
          result_.detail = flight.problem;
          co_return false;
        case ServerFlight::Status::Chosen:
          chosen(ssl, flight);
          conn_->queue(handshake_failure_alert(flight.version));
          co_await send();
          co_return false;
      }
    }
  }

  void chosen(SSL* ssl, ServerFlight& flight) {
    const tls::Version version = tls::version_from_wire(flight.version);
    if (version == tls::Version::Unknown || tls::wire_value(version) < tls::wire_value(spec_.min) ||
        tls::wire_value(version) > tls::wire_value(spec_.max)) {
      // What OpenSSL would refuse as well: an answer in a version that was not offered.
      result_.outcome = Outcome::HandshakeFailed;
      result_.detail = fmt::format("the server answered in version 0x{:04X}, which was not offered", flight.version);
      return;
    }
    const SSL_CIPHER* cipher = cipher_by_id(ssl, flight.cipher);
    result_.outcome = Outcome::Negotiated;
    result_.tls.complete = false;
    result_.tls.version = version;
    result_.tls.cipher = cipher ? SSL_CIPHER_get_name(cipher) : fmt::format("0x{:04X}", flight.cipher);
    result_.tls.bits = cipher ? SSL_CIPHER_get_bits(cipher, nullptr) : 0;
    if (flight.group != 0)
      result_.tls.key_exchange = group_label(flight.group);
    else if (flight.dh_bits > 0)
      result_.tls.key_exchange = "DH " + std::to_string(flight.dh_bits);
    else if (cipher && SSL_CIPHER_get_kx_nid(cipher) == NID_kx_rsa)
      result_.tls.key_exchange = "RSA";
    else
      result_.tls.key_exchange = "unknown";
    result_.tls.chain_der = std::move(flight.certificates);
  }

  awaitable<void> quit() {
    conn_->queue("QUIT\r\n");
    if (!co_await send()) co_return;
    // The session ends with QUIT either way; waiting for the 221 would only cost a round trip,
    // except where the replies inside TLS are the point of the test.
    if (!spec_.injection_test || !conn_->tls_active()) co_return;
    auto reading = co_await read_reply(*conn_, context_.timeouts.command);
    if (reading.reply) {
      // Inside TLS the only command we sent is QUIT: a 250 first is the answer to the NOOP
      // that was pipelined in plaintext, which the server should have thrown away.
      result_.smtp.injection_answered = reading.reply->code != 221;
      if (reading.reply->code != 221) reading = co_await read_reply(*conn_, context_.timeouts.command);
    }
    result_.smtp.quit_answered = reading.reply && reading.reply->code == 221;
  }

  const Target& target_;
  const AttemptContext& context_;
  const AttemptSpec& spec_;
  std::shared_ptr<net::Connection> conn_;
  AttemptResult result_;
};

}  // namespace

std::string_view outcome_name(Outcome o) {
  static constexpr Named<Outcome> kNames[] = {
      {Outcome::Negotiated, "negotiated"},  {Outcome::HandshakeFailed, "handshake-failed"},
      {Outcome::NoStartTls, "no-starttls"}, {Outcome::StartTlsRefused, "starttls-refused"},
      {Outcome::Refused, "refused"},        {Outcome::ConnectFailed, "connect-failed"},
      {Outcome::Timeout, "timeout"},        {Outcome::Broken, "broken"}};
  return name_of(kNames, o).value_or("broken");
}

bool inconclusive(Outcome o) {
  return o == Outcome::Refused || o == Outcome::ConnectFailed || o == Outcome::Timeout || o == Outcome::Broken ||
         o == Outcome::StartTlsRefused;
}

std::shared_ptr<asio::ssl::context> make_probe_context() {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_security_level(native, 0);
  SSL_CTX_set_min_proto_version(native, TLS1_VERSION);
  SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION);
  SSL_CTX_set_cipher_list(native, kPreTls13Suites);
  SSL_CTX_set_ciphersuites(native, kTls13Suites);
  // Legacy servers may need the pre-RFC 5746 renegotiation behaviour to even finish a hello.
  SSL_CTX_set_options(native, SSL_OP_LEGACY_SERVER_CONNECT | SSL_OP_NO_TICKET);
  SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
  return ctx;
}

awaitable<AttemptResult> run_attempt(const asio::any_io_executor& executor, const Target& target,
                                     asio::ip::tcp::endpoint address, const AttemptContext& context,
                                     const AttemptSpec& spec) {
  Attempt attempt(target, context, spec);
  co_return co_await attempt.run(executor, address);
}

}  // namespace sluice::probe
