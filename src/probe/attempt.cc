#include "probe/attempt.h"

#include <asio/co_spawn.hpp>
#include <asio/ssl/error.hpp>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>

#include "net/connect.h"
#include "net/connection.h"
#include "smtp/reply_reader.h"
#include "tls/client_context.h"

namespace sluice::probe {
namespace {

using asio::awaitable;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxReplyLine = 4096;

/// What the callbacks learn during one handshake, found through our own ex_data slot (asio keeps
/// its verify callback in the SSL's app data).
struct AlertRecord {
  std::string received;      ///< the first alert the server sent
  bool stop_at_key_exchange = false;
  bool dhe_stop_at_certificate = false;
  bool stopped = false;      ///< we ended the handshake on purpose once the server chose its suite
  std::string key_exchange;  ///< the server's group or DH size, as its ServerKeyExchange said
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

std::string group_name(int nid) {
  const char* name = OBJ_nid2sn(nid);
  std::string out = name ? name : "unknown";
  return out == "prime256v1" ? "secp256r1" : out;
}

/// OpenSSL asks its security callback about the server's key exchange parameters (the curve of
/// an ECDHE ServerKeyExchange, the DH key of a DHE one) after it has read the ServerHello and the
/// certificate, and before it computes anything of its own. Refusing there ends an enumeration
/// step as soon as the server has said which suite it picked, without the client's share of the
/// key exchange (a 2048-bit DH exponentiation costs milliseconds) or the last round trip. At
/// security level 0 everything else is allowed, as OpenSSL's default callback would.
int on_security(const SSL* ssl, const SSL_CTX*, int op, int, int nid, void* other, void*) {
  if (!ssl || SSL_get_pending_cipher(ssl) == nullptr) return 1;  // still building the ClientHello
  auto* record = static_cast<AlertRecord*>(SSL_get_ex_data(ssl, alert_slot()));
  if (!record) return 1;
  if (op == SSL_SECOP_CURVE_CHECK) {
    record->key_exchange = group_name(nid);
  } else if (op == SSL_SECOP_TMP_DH && other) {
    record->key_exchange = "DH " + std::to_string(EVP_PKEY_get_bits(static_cast<EVP_PKEY*>(other)));
  } else {
    return 1;
  }
  if (!record->stop_at_key_exchange) return 1;
  record->stopped = true;
  return 0;
}

/// Called while the server's certificate is checked, which OpenSSL does in every mode and before
/// the ServerKeyExchange is read. Accepts everything (certificate_facts judges the chain), except
/// that it ends a DHE enumeration step there (AttemptSpec::dhe_stop_at_certificate).
int on_verify(int, X509_STORE_CTX* store) {
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* record = ssl ? static_cast<AlertRecord*>(SSL_get_ex_data(ssl, alert_slot())) : nullptr;
  if (!record || !record->dhe_stop_at_certificate) return 1;
  const SSL_CIPHER* cipher = SSL_get_pending_cipher(ssl);
  if (!cipher || SSL_CIPHER_get_kx_nid(cipher) != NID_kx_dhe || SSL_CIPHER_get_auth_nid(cipher) != NID_auth_rsa)
    return 1;
  record->key_exchange = "DH";  // the size is the planner's, from the step that read it
  record->stopped = true;
  return 0;
}

struct Reading {
  std::optional<smtp::Reply> reply;
  Outcome failure = Outcome::Broken;  ///< when no reply
  std::string detail;
};

awaitable<Reading> read_reply(net::Connection& conn, Clock::duration timeout) {
  smtp::ReplyAssembler assembler;
  conn.set_timeout(timeout);
  Reading r;
  for (;;) {
    auto line = co_await conn.read_line(kMaxReplyLine);
    if (!line) {
      if (conn.interrupted() == net::Interrupt::Timeout) {
        r.failure = Outcome::Timeout;
        r.detail = "no reply in time";
      } else {
        r.detail = conn.peer_closed() ? "connection closed by the server" : conn.error().message();
      }
      co_return r;
    }
    if (line->too_long) {
      r.detail = "reply line too long";
      co_return r;
    }
    auto status = assembler.add(line->text);
    if (status == smtp::ReplyAssembler::Status::Error) {
      r.detail = "not an SMTP reply: " + assembler.error();
      co_return r;
    }
    if (status == smtp::ReplyAssembler::Status::Complete) {
      r.reply = assembler.take();
      co_return r;
    }
  }
}

std::string key_exchange_of(SSL* ssl) {
  EVP_PKEY* key = nullptr;
  if (!SSL_get_peer_tmp_key(ssl, &key) || !key) return "RSA";
  std::string out;
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_X25519: out = "X25519"; break;
    case EVP_PKEY_X448: out = "X448"; break;
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
    default: out = EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "unknown";
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
    if (connected.error) {
      result_.outcome = connected.error == asio::error::timed_out ? Outcome::Timeout : Outcome::ConnectFailed;
      result_.detail = connected.error == asio::error::timed_out ? "connect timed out" : connected.error.message();
    } else {
      conn_ = std::make_shared<net::Connection>(std::move(*connected.socket));
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
    if (!offers_extension(*result_.smtp.ehlo, "STARTTLS")) {
      result_.outcome = Outcome::NoStartTls;
      result_.detail = "STARTTLS not offered";
      co_await quit();
      co_return;
    }
    conn_->queue(spec_.injection_test ? "STARTTLS\r\nNOOP\r\n" : "STARTTLS\r\n");
    if (!co_await send()) co_return;
    auto reading = co_await read_reply(*conn_, context_.timeouts.command);
    if (!reading.reply) {
      lost(reading, "after STARTTLS");
      co_return;
    }
    result_.smtp.starttls_reply = reading.reply;
    if (reading.reply->code != 220) {
      result_.outcome = Outcome::StartTlsRefused;
      result_.detail = reading.reply->one_line();
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
    bool sent = co_await conn_->flush();
    if (sent) co_return true;
    result_.outcome = conn_->interrupted() == net::Interrupt::Timeout ? Outcome::Timeout : Outcome::Broken;
    result_.detail = "could not send: " + conn_->error().message();
    co_return false;
  }

  void lost(const Reading& reading, std::string_view when) {
    result_.outcome = reading.failure;
    result_.detail = std::string(reading.detail) + " " + std::string(when);
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
    conn_->queue("EHLO " + context_.helo + "\r\n");
    if (!co_await send()) co_return false;
    auto reading = co_await read_reply(*conn_, context_.timeouts.command);
    if (!reading.reply) {
      lost(reading, "after EHLO");
      co_return false;
    }
    into = reading.reply;
    if (into->code == 250) co_return true;
    // RFC 5321 3.2: a server that does not know EHLO gets HELO (and offers no STARTTLS).
    conn_->queue("HELO " + context_.helo + "\r\n");
    if (!co_await send()) co_return false;
    reading = co_await read_reply(*conn_, context_.timeouts.command);
    if (!reading.reply) {
      lost(reading, "after HELO");
      co_return false;
    }
    co_return true;
  }

  awaitable<bool> mail_before_tls() {
    conn_->queue("MAIL FROM:<>\r\n");
    if (!co_await send()) co_return false;
    auto reading = co_await read_reply(*conn_, context_.timeouts.command);
    if (!reading.reply) {
      lost(reading, "after MAIL FROM");
      co_return false;
    }
    result_.smtp.mail_before_tls = reading.reply;
    if (reading.reply->code == 421) {
      // The server is closing the session (RFC 5321 3.8): busy or rate limited, not an answer.
      result_.outcome = Outcome::Refused;
      result_.detail = reading.reply->one_line();
      co_return false;
    }
    conn_->queue("RSET\r\n");
    if (!co_await send()) co_return false;
    reading = co_await read_reply(*conn_, context_.timeouts.command);
    if (!reading.reply) {
      lost(reading, "after RSET");
      co_return false;
    }
    co_return true;
  }

  awaitable<bool> handshake() {
    AlertRecord alert;
    alert.stop_at_key_exchange = spec_.stop_at_key_exchange;
    alert.dhe_stop_at_certificate = spec_.stop_at_key_exchange && spec_.dhe_stop_at_certificate;
    const AttemptSpec& spec = spec_;
    std::function<void(SSL*)> prepare = [&alert, &spec, this](SSL* ssl) {
      SSL_set_ex_data(ssl, alert_slot(), &alert);
      SSL_set_info_callback(ssl, on_info);
      SSL_set_security_callback(ssl, on_security);
      // Peer mode only so that on_verify's refusal ends the handshake; it accepts all else.
      if (alert.dhe_stop_at_certificate) SSL_set_verify(ssl, SSL_VERIFY_PEER, on_verify);
      SSL_set_min_proto_version(ssl, tls::wire_value(spec.min));
      SSL_set_max_proto_version(ssl, tls::wire_value(spec.max));
      if (!spec.cipher_list.empty()) SSL_set_cipher_list(ssl, (spec.cipher_list + ":@SECLEVEL=0").c_str());
      if (!spec.ciphersuites.empty()) SSL_set_ciphersuites(ssl, spec.ciphersuites.c_str());
      tls::set_client_peer(ssl, target_.host, false);
    };
    conn_->set_timeout(context_.timeouts.handshake);
    bool ok = co_await conn_->handshake_client(*context_.ssl, prepare);
    SSL* ssl = conn_->ssl();
    if (ssl) SSL_set_ex_data(ssl, alert_slot(), nullptr);
    result_.alert = alert.received;
    if (!ok && alert.stopped && ssl) {
      // The server chose its suite and sent its key exchange: all this attempt had to learn.
      result_.outcome = Outcome::Negotiated;
      result_.tls.complete = false;
      result_.tls.version = tls::version_from_wire(SSL_version(ssl));
      const SSL_CIPHER* cipher = SSL_get_pending_cipher(ssl);
      result_.tls.cipher = cipher ? SSL_CIPHER_get_name(cipher) : "";
      result_.tls.bits = cipher ? SSL_CIPHER_get_bits(cipher, nullptr) : 0;
      result_.tls.key_exchange = alert.key_exchange;
      result_.tls.chain = chain_of(ssl);
      co_return false;
    }
    if (!ok) {
      if (conn_->interrupted() == net::Interrupt::Timeout) {
        result_.outcome = Outcome::Timeout;
        result_.detail = "TLS handshake timed out";
      } else if (!alert.received.empty()) {
        result_.outcome = Outcome::HandshakeFailed;
        result_.detail = "alert " + alert.received;
      } else if (conn_->peer_closed()) {
        // Many servers hang up on a ClientHello they do not like instead of sending an alert.
        result_.outcome = Outcome::HandshakeFailed;
        result_.detail = "connection closed during the handshake, no alert";
      } else {
        result_.outcome = Outcome::HandshakeFailed;
        result_.detail = openssl_reason(conn_->error());
      }
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

bool offers_extension(const smtp::Reply& ehlo, std::string_view keyword) {
  if (ehlo.code != 250) return false;
  for (std::size_t i = 1; i < ehlo.lines.size(); ++i) {
    std::string_view line = ehlo.lines[i];
    std::string_view word = line.substr(0, line.find(' '));
    if (word.size() == keyword.size() &&
        std::equal(word.begin(), word.end(), keyword.begin(),
                   [](char a, char b) { return std::toupper(static_cast<unsigned char>(a)) == b; }))
      return true;
  }
  return false;
}

std::string_view outcome_name(Outcome o) {
  switch (o) {
    case Outcome::Negotiated: return "negotiated";
    case Outcome::HandshakeFailed: return "handshake-failed";
    case Outcome::NoStartTls: return "no-starttls";
    case Outcome::StartTlsRefused: return "starttls-refused";
    case Outcome::Refused: return "refused";
    case Outcome::ConnectFailed: return "connect-failed";
    case Outcome::Timeout: return "timeout";
    case Outcome::Broken: return "broken";
  }
  return "broken";
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
  SSL_CTX_set_cipher_list(native, "ALL:COMPLEMENTOFALL:@SECLEVEL=0");
  SSL_CTX_set_ciphersuites(native,
                           "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:"
                           "TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256");
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
