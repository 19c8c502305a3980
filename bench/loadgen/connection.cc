#include "connection.h"

#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fmt/format.h>

#include "message.h"

namespace sluice::bench {

using asio::use_awaitable;

Payload make_payload(const Options& o) {
  Payload p;
  p.mail = fmt::format("MAIL FROM:<{}>\r\n", o.from);
  p.rcpt = fmt::format("RCPT TO:<{}>\r\n", o.to);
  p.envelope = p.mail + p.rcpt + "DATA\r\n";
  // The Message-ID line comes first and never starts with a dot, so the stuffed rest can be shared.
  std::size_t rest = o.size > kMessageIdLineSize ? o.size - kMessageIdLineSize : 1;
  p.data = dot_stuff(make_message(rest, o.from, o.to));
  return p;
}

std::unique_ptr<asio::ssl::context> make_tls_context(TlsVersion v) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  int version = v == TlsVersion::v1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
  SSL_CTX_set_min_proto_version(native, version);
  SSL_CTX_set_max_proto_version(native, version);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  ctx->set_verify_mode(asio::ssl::verify_none);
  return ctx;
}

void expect(const Reply& r, int expected_class, std::string_view step) {
  if (r.code / 100 != expected_class) throw SessionError(fmt::format("{} answered {}", step, r.text()));
}

Connection::Connection(asio::io_context& io, asio::ssl::context& tls, const Options& o)
    : stream_(io, tls),
      watchdog_(io),
      timeout_(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(o.timeout_s))),
      opts_(o) {}

Connection::~Connection() { *alive_ = false; }

void Connection::arm() {
  ++arm_generation_;
  watchdog_.expires_after(timeout_);
  watchdog_.async_wait([this, alive = alive_, gen = arm_generation_](std::error_code ec) {
    if (ec || !*alive || gen != arm_generation_) return;
    timed_out_ = true;
    std::error_code ignored;
    stream_.lowest_layer().close(ignored);
  });
}

void Connection::disarm() {
  ++arm_generation_;
  watchdog_.cancel();
}

void Connection::fail_io(const std::system_error& e, std::string_view step) {
  if (timed_out_) throw SessionError(fmt::format("{}: no answer within {} s", step, opts_.timeout_s));
  if (e.code() == asio::error::eof || e.code() == asio::ssl::error::stream_truncated ||
      e.code() == asio::error::connection_reset)
    throw SessionError(fmt::format("{}: connection closed by the server", step));
  throw SessionError(fmt::format("{}: {}", step, e.code().message()));
}

asio::awaitable<Reply> Connection::read_reply(std::string_view step) {
  Reply reply;
  std::string error;
  for (;;) {
    switch (take_reply(in_, reply, error)) {
      case ReplyStatus::complete:
        co_return reply;
      case ReplyStatus::malformed:
        throw SessionError(fmt::format("{}: {}", step, error));
      case ReplyStatus::incomplete:
        break;
    }
    std::size_t n = 0;
    arm();
    try {
      if (tls_)
        n = co_await stream_.async_read_some(asio::buffer(buf_), use_awaitable);
      else
        n = co_await stream_.next_layer().async_read_some(asio::buffer(buf_), use_awaitable);
    } catch (const std::system_error& e) {
      disarm();
      fail_io(e, step);
    }
    disarm();
    in_.append(buf_.data(), n);
  }
}

asio::awaitable<void> Connection::write(std::string_view data, std::string_view step) {
  co_await write(data, std::string_view(), step);
}

asio::awaitable<void> Connection::write(std::string_view head, std::string_view tail, std::string_view step) {
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(tail)};
  arm();
  try {
    if (tls_)
      co_await asio::async_write(stream_, buffers, use_awaitable);
    else
      co_await asio::async_write(stream_.next_layer(), buffers, use_awaitable);
  } catch (const std::system_error& e) {
    disarm();
    fail_io(e, step);
  }
  disarm();
}

asio::awaitable<Reply> Connection::command(const std::string& line, int expected_class, std::string_view step) {
  co_await write(line, step);
  Reply r = co_await read_reply(step);
  expect(r, expected_class, step);
  co_return r;
}

asio::awaitable<void> Connection::open(asio::ip::tcp::endpoint server) {
  auto& socket = stream_.next_layer();
  arm();
  try {
    co_await socket.async_connect(server, use_awaitable);
  } catch (const std::system_error& e) {
    disarm();
    fail_io(e, "connect");
  }
  disarm();
  socket.set_option(asio::ip::tcp::no_delay(true));

  Reply banner = co_await read_reply("banner");
  expect(banner, 2, "banner");
  const std::string ehlo = fmt::format("EHLO {}\r\n", opts_.ehlo);
  Reply caps = co_await command(ehlo, 2, "EHLO");
  if (opts_.tls != TlsVersion::none) {
    if (!caps.has_extension("STARTTLS")) throw SessionError("EHLO: the server does not offer STARTTLS");
    const std::string starttls = "STARTTLS\r\n";
    co_await command(starttls, 2, "STARTTLS");
    // Anything after the 220 and before the handshake would be plaintext injected into the TLS
    // session (CVE-2011-0411 and friends): a correct server sends nothing.
    if (!in_.empty()) throw SessionError("STARTTLS: the server sent data after its 220");
    arm();
    try {
      co_await stream_.async_handshake(asio::ssl::stream_base::client, use_awaitable);
    } catch (const std::system_error& e) {
      disarm();
      fail_io(e, "TLS handshake");
    }
    disarm();
    tls_ = true;
    caps = co_await command(ehlo, 2, "EHLO after STARTTLS");
  }
  pipelining_ = caps.has_extension("PIPELINING");
}

asio::awaitable<std::pair<Reply, std::chrono::nanoseconds>> Connection::send_message(const Payload& p,
                                                                                     std::string_view id_line) {
  if (pipelining_) {
    co_await write(p.envelope, "MAIL, RCPT, DATA");
    // Read all three before judging, so the reply that failed first is the one reported.
    Reply mail = co_await read_reply("MAIL FROM");
    Reply rcpt = co_await read_reply("RCPT TO");
    Reply data = co_await read_reply("DATA");
    expect(mail, 2, "MAIL FROM");
    expect(rcpt, 2, "RCPT TO");
    expect(data, 3, "DATA");
  } else {
    co_await command(p.mail, 2, "MAIL FROM");
    co_await command(p.rcpt, 2, "RCPT TO");
    const std::string data = "DATA\r\n";
    co_await command(data, 3, "DATA");
  }
  co_await write(id_line, p.data, "message");
  auto sent = std::chrono::steady_clock::now();
  Reply done = co_await read_reply("end of data");
  auto latency = std::chrono::steady_clock::now() - sent;
  expect(done, 2, "end of data");
  co_return std::make_pair(std::move(done), std::chrono::duration_cast<std::chrono::nanoseconds>(latency));
}

asio::awaitable<void> Connection::quit() {
  const std::string quit = "QUIT\r\n";
  co_await command(quit, 2, "QUIT");
  // No TLS close_notify exchange: the server closes after 221, and waiting for its close_notify
  // would only add a round trip to every connection.
  std::error_code ignored;
  stream_.lowest_layer().close(ignored);
}

TlsInfo Connection::tls_info() const {
  TlsInfo info;
  if (!tls_) return info;
  SSL* ssl = const_cast<asio::ssl::stream<asio::ip::tcp::socket>&>(stream_).native_handle();
  info.version = SSL_get_version(ssl);
  info.cipher = SSL_get_cipher_name(ssl);
  if (X509* cert = SSL_get1_peer_certificate(ssl)) {
    EVP_PKEY* key = X509_get0_pubkey(cert);
    if (key) {
      int id = EVP_PKEY_get_base_id(key);
      std::string type = id == EVP_PKEY_EC ? "EC" : id == EVP_PKEY_RSA ? "RSA" : OBJ_nid2sn(id);
      info.server_key = fmt::format("{}-{}", type, EVP_PKEY_get_bits(key));
    }
    X509_free(cert);
  }
  return info;
}

}  // namespace sluice::bench
