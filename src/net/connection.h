// A TCP connection that can switch to TLS mid-stream (STARTTLS), with line reading and a
// deadline that every read and write is held to.
#pragma once
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "base/result.h"
#include "net/key_update_limit.h"

namespace sluice::net {

/// Why a connection's pending operation was interrupted. KeyUpdateFlood: the TLS peer sent more
/// than kMaxKeyUpdatesPerMinute KeyUpdate messages (net/key_update_limit.h); the TLS stream was
/// abandoned, so the connection can only be closed (nothing can be written to it any more).
enum class Interrupt { None, Timeout, Shutdown, KeyUpdateFlood };

/// Why an operation on a connection failed, handed back with its result.
struct IoError {
  std::error_code code;
  Interrupt interrupt = Interrupt::None;  ///< Timeout: the deadline passed; Shutdown: interrupt()
  bool peer_closed = false;               ///< the peer ended the connection (EOF, reset, TLS truncation)
  bool timed_out() const { return interrupt == Interrupt::Timeout; }
};
template <typename T>
using IoResult = Result<T, IoError>;

class Connection {
 public:
  explicit Connection(asio::ip::tcp::socket socket);
  ~Connection();

  /// Starts the watchdog that enforces deadlines; it keeps `owner` (the object that owns this
  /// connection) alive until close(), so its last wake-up never touches freed memory.
  void start_watchdog(std::shared_ptr<void> owner);

  /// Every operation from now on must finish within `timeout`, else it fails with
  /// operation_aborted and an IoError whose interrupt is Timeout.
  void set_timeout(std::chrono::steady_clock::duration timeout);
  /// Interrupts a pending read (for shutdown): it fails with an IoError whose interrupt is `why`.
  /// The interrupt stays, failing every later read, until clear_interrupt().
  void interrupt(Interrupt why);
  /// Clears a previous interrupt so that a final reply can still be written.
  void clear_interrupt() { interrupt_ = Interrupt::None; }

  struct Line {
    std::string_view text;  ///< without CR LF; valid until the next read
    bool too_long = false;  ///< the line exceeded the limit; text is empty, the line was skipped
  };
  /// Reads one line ending in LF (a CR before it is removed). `max_length` counts the CRLF.
  /// Fails when the peer closed or an error or interrupt occurred.
  asio::awaitable<IoResult<Line>> read_line(std::size_t max_length);

  /// Bytes read from the socket before this connection took it over (those after a PROXY
  /// header): they are read first.
  void preload(std::string_view bytes) { buffer_.append(bytes); }
  /// Bytes already read from the socket and not yet consumed as lines.
  std::string_view buffered() const { return std::string_view(buffer_).substr(start_); }
  void consume(std::size_t n) { start_ += n; }
  /// Drops everything buffered; returns how many bytes were dropped (STARTTLS injection defence).
  std::size_t discard_buffered();
  /// Reads more bytes (at least one) into the buffer.
  asio::awaitable<IoResult<void>> fill();

  /// Queues bytes to send; send() sends everything queued. Replies to pipelined commands are
  /// queued and go out together when the connection would otherwise wait for input.
  void queue(std::string_view bytes) { out_ += bytes; }
  bool has_queued() const { return !out_.empty(); }
  /// Sends everything queued (nothing queued: done at once).
  asio::awaitable<IoResult<void>> send();
  /// Client side of a TLS handshake; `prepare` sets SNI and verification on the SSL first.
  asio::awaitable<IoResult<void>> start_tls_client(asio::ssl::context& context,
                                                   const std::function<void(SSL*)>& prepare);
  /// Server side of a TLS handshake over this connection (STARTTLS received).
  asio::awaitable<IoResult<void>> start_tls_server(asio::ssl::context& context);

  bool tls_active() const { return tls_.has_value(); }
  SSL* ssl() { return tls_ ? tls_->native_handle() : nullptr; }

  /// Closes the socket (a TLS close_notify is attempted first, without waiting for the peer's).
  asio::awaitable<void> close();
  bool closed() const { return closed_; }

  const asio::ip::tcp::endpoint& local_endpoint() const { return local_; }
  const asio::ip::tcp::endpoint& remote_endpoint() const { return remote_; }

 private:
  asio::ip::tcp::socket& socket();
  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer);
  asio::awaitable<void> watchdog(std::shared_ptr<void> owner);
  /// `prepare` is taken by value: a coroutine must not keep a reference to a caller's temporary.
  asio::awaitable<IoResult<void>> handshake(asio::ssl::stream_base::handshake_type side, asio::ssl::context& context,
                                            std::function<void(SSL*)> prepare);
  /// The state of the failure that just happened.
  IoError failure() const { return {error_, interrupt_, peer_closed_}; }
  /// OpenSSL's message callback: counts the peer's KeyUpdates (`arg` is the Connection).
  static void on_tls_message(int write_p, int version, int content_type, const void* buf, std::size_t len, SSL* ssl,
                             void* arg);

  std::optional<asio::ip::tcp::socket> plain_;
  std::optional<asio::ssl::stream<asio::ip::tcp::socket>> tls_;
  asio::steady_timer deadline_;
  asio::ip::tcp::endpoint local_, remote_;
  std::string buffer_;
  std::size_t start_ = 0;
  std::string out_;
  std::error_code error_;
  bool peer_closed_ = false;
  bool closed_ = false;
  bool watching_ = false;
  Interrupt interrupt_ = Interrupt::None;
  KeyUpdateLimit key_updates_;
  bool key_update_flood_ = false;  ///< the watchdog turns it into Interrupt::KeyUpdateFlood
};

/// "127.0.0.1:2525" or "[::1]:2525"; IPv4-mapped IPv6 addresses are shown as IPv4.
std::string endpoint_text(const asio::ip::tcp::endpoint& endpoint);
/// The address without port, IPv4-mapped shown as IPv4.
asio::ip::address plain_address(const asio::ip::address& address);

}  // namespace sluice::net
