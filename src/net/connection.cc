#include "net/connection.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/ssl/error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace sluice::net {

using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;

namespace {
constexpr std::size_t kReadChunk = 8192;

/// The peer ended the connection (as opposed to a local error or an interrupt).
bool is_peer_close(const std::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::ssl::error::stream_truncated;
}
}  // namespace

asio::ip::address plain_address(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  return address;
}

std::string endpoint_text(const asio::ip::tcp::endpoint& endpoint) {
  auto address = plain_address(endpoint.address());
  if (address.is_v6()) return "[" + address.to_string() + "]:" + std::to_string(endpoint.port());
  return address.to_string() + ":" + std::to_string(endpoint.port());
}

Connection::Connection(asio::ip::tcp::socket socket) : plain_(std::move(socket)), deadline_(plain_->get_executor()) {
  std::error_code ec;
  local_ = plain_->local_endpoint(ec);
  remote_ = plain_->remote_endpoint(ec);
  deadline_.expires_at(asio::steady_timer::time_point::max());
}

Connection::~Connection() = default;

asio::ip::tcp::socket& Connection::socket() { return tls_ ? tls_->next_layer() : *plain_; }

void Connection::start_watchdog(std::shared_ptr<void> owner) {
  if (watching_) return;
  watching_ = true;
  asio::co_spawn(deadline_.get_executor(), watchdog(std::move(owner)), asio::detached);
}

awaitable<void> Connection::watchdog(std::shared_ptr<void> owner) {
  // One timer per connection, re-armed by set_timeout: cheaper than a timer per operation, and a
  // deadline that passes between operations still fails the next one (read_some checks).
  while (!closed_) {
    if (deadline_.expiry() <= asio::steady_timer::clock_type::now()) {
      interrupt_ = key_update_flood_ ? Interrupt::KeyUpdateFlood : Interrupt::Timeout;
      std::error_code ignored;
      socket().cancel(ignored);
      deadline_.expires_at(asio::steady_timer::time_point::max());
    }
    std::error_code ec;
    co_await deadline_.async_wait(redirect_error(use_awaitable, ec));
  }
}

void Connection::set_timeout(std::chrono::steady_clock::duration timeout) { deadline_.expires_after(timeout); }

void Connection::interrupt(Interrupt why) {
  interrupt_ = why;
  std::error_code ignored;
  socket().cancel(ignored);
}

awaitable<std::size_t> Connection::read_some(asio::mutable_buffer buffer) {
  if (interrupt_ != Interrupt::None || closed_) {
    error_ = asio::error::operation_aborted;
    co_return 0;
  }
  std::error_code ec;
  std::size_t n = tls_ ? co_await tls_->async_read_some(buffer, redirect_error(use_awaitable, ec))
                       : co_await plain_->async_read_some(buffer, redirect_error(use_awaitable, ec));
  if (key_update_flood_) {
    // Whatever this read returned or failed with, the stream was abandoned (on_tls_message).
    error_ = asio::error::operation_aborted;
    interrupt_ = Interrupt::KeyUpdateFlood;
    co_return 0;
  }
  if (ec) {
    error_ = ec;
    peer_closed_ = is_peer_close(ec);
    co_return 0;
  }
  co_return n;
}

awaitable<IoResult<void>> Connection::fill() {
  if (start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  } else if (start_ > kReadChunk) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  std::size_t old = buffer_.size();
  buffer_.resize(old + kReadChunk);
  std::size_t n = co_await read_some(asio::buffer(buffer_.data() + old, kReadChunk));
  buffer_.resize(old + n);
  if (n == 0) co_return fail(failure());
  co_return IoResult<void>{};
}

awaitable<IoResult<Connection::Line>> Connection::read_line(std::size_t max_length) {
  bool too_long = false;
  for (;;) {
    std::string_view pending = buffered();
    auto lf = pending.find('\n');
    if (lf != std::string_view::npos) {
      std::size_t length = lf + 1;  // octets including the LF (and the CR, if any)
      std::string_view text = pending.substr(0, lf);
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      consume(length);
      if (too_long || length > max_length) co_return Line{{}, true};
      co_return Line{text, false};
    }
    if (pending.size() >= max_length) {
      // Skip the overlong line's bytes as they come instead of holding them all.
      too_long = true;
      consume(pending.size());
    }
    if (auto more = co_await fill(); !more) co_return fail(more.error());
  }
}

std::size_t Connection::discard_buffered() {
  std::size_t n = buffered().size();
  buffer_.clear();
  start_ = 0;
  return n;
}

awaitable<IoResult<void>> Connection::send() {
  if (out_.empty()) co_return IoResult<void>{};
  if (closed_) co_return fail(IoError{asio::error::not_connected, interrupt_, peer_closed_});
  std::error_code ec;
  if (tls_)
    co_await asio::async_write(*tls_, asio::buffer(out_), redirect_error(use_awaitable, ec));
  else
    co_await asio::async_write(*plain_, asio::buffer(out_), redirect_error(use_awaitable, ec));
  out_.clear();
  if (ec) {
    error_ = ec;
    co_return fail(failure());
  }
  co_return IoResult<void>{};
}

awaitable<IoResult<void>> Connection::start_tls_client(asio::ssl::context& context,
                                                       const std::function<void(SSL*)>& prepare) {
  return handshake(asio::ssl::stream_base::client, context, prepare);
}

awaitable<IoResult<void>> Connection::start_tls_server(asio::ssl::context& context) {
  return handshake(asio::ssl::stream_base::server, context, {});
}

awaitable<IoResult<void>> Connection::handshake(asio::ssl::stream_base::handshake_type side,
                                                asio::ssl::context& context, std::function<void(SSL*)> prepare) {
  tls_.emplace(std::move(*plain_), context);
  plain_.reset();
  SSL_set_msg_callback(tls_->native_handle(), &Connection::on_tls_message);
  SSL_set_msg_callback_arg(tls_->native_handle(), this);
  if (prepare) prepare(tls_->native_handle());
  std::error_code ec;
  co_await tls_->async_handshake(side, redirect_error(use_awaitable, ec));
  if (ec) {
    error_ = ec;
    peer_closed_ = is_peer_close(ec);
    co_return fail(failure());
  }
  co_return IoResult<void>{};
}

void Connection::on_tls_message(int write_p, int, int content_type, const void* buf, std::size_t len, SSL* ssl,
                                void* arg) {
  auto* self = static_cast<Connection*>(arg);
  if (!self->key_update_flood_) {
    if (!is_received_key_update(write_p, content_type, buf, len) || self->key_updates_.received()) return;
    self->key_update_flood_ = true;
    // The watchdog, woken now, cancels the socket read that OpenSSL's next want of input starts;
    // the read fails with Interrupt::KeyUpdateFlood.
    self->deadline_.expires_at(asio::steady_timer::time_point::min());
  }
  if (write_p) return;
  // OpenSSL would go on reading every record already received in this read (up to 17 KiB, some
  // 600 KeyUpdates); dropping them stops the work here. The stream is then out of step (the next
  // bytes may be the middle of a record), so nothing more is read or written: the connection ends
  // without a reply.
  char sink[4096];
  while (BIO_read(SSL_get_rbio(ssl), sink, sizeof sink) > 0) {
  }
}

awaitable<void> Connection::close() {
  if (closed_) co_return;
  closed_ = true;
  std::error_code ignored;
  socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket().close(ignored);
  deadline_.cancel();
  co_return;
}

}  // namespace sluice::net
