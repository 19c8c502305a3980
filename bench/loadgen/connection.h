// connection: one SMTP client connection (plaintext, then TLS after STARTTLS) that checks every reply.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <asio.hpp>
#include <asio/ssl.hpp>

#include "options.h"
#include "reply.h"
#include "stats.h"

namespace sluice::bench {

/// A failed step of a session; what() says which step and what the server answered or why it
/// failed ("RCPT TO answered 550 5.1.1 unknown user", "STARTTLS handshake: wrong version number").
struct SessionError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The wire text of one message, built once and shared by every session.
struct Payload {
  std::string mail;      ///< "MAIL FROM:<a@x>\r\n"
  std::string rcpt;      ///< "RCPT TO:<b@y>\r\n"
  std::string envelope;  ///< MAIL, RCPT and DATA in one write, for PIPELINING
  std::string data;      ///< the dot-stuffed message after its Message-ID line, and the final ".\r\n"
};

/// Builds the payload for the options' sender, recipient and size: with the Message-ID line that
/// send_message puts in front of `data`, a message is exactly `size` octets (make_message).
Payload make_payload(const Options& o);

/// A TLS client context allowing exactly `v` (no certificate verification, no session resumption,
/// so every connection pays for a full handshake). With TlsVersion::none the context is only
/// there because the stream needs one; it is never used.
std::unique_ptr<asio::ssl::context> make_tls_context(TlsVersion v);

/// One session with the server. Every call throws SessionError on an unexpected reply, a
/// malformed reply, a closed connection, a TLS failure or a reply slower than the timeout.
class Connection {
 public:
  Connection(asio::io_context& io, asio::ssl::context& tls, const Options& o);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Connects, reads the banner, sends EHLO, and with TLS: STARTTLS, the handshake and EHLO again.
  asio::awaitable<void> open(asio::ip::tcp::endpoint server);
  /// One transaction (MAIL, RCPT, DATA pipelined when offered, then `id_line` and the message);
  /// returns the final reply and the time from the end-of-data dot having been written to it.
  asio::awaitable<std::pair<Reply, std::chrono::nanoseconds>> send_message(const Payload& p, std::string_view id_line);
  /// QUIT and its 221, then closes.
  asio::awaitable<void> quit();
  /// What was negotiated (empty without TLS).
  TlsInfo tls_info() const;

 private:
  asio::awaitable<Reply> read_reply(std::string_view step);
  asio::awaitable<void> write(std::string_view data, std::string_view step);
  /// `head` then `tail` in one write: a per-message header before the shared text, copying neither.
  asio::awaitable<void> write(std::string_view head, std::string_view tail, std::string_view step);
  asio::awaitable<Reply> command(const std::string& line, int expected_class, std::string_view step);
  void arm();
  void disarm();
  [[noreturn]] void fail_io(const std::system_error& e, std::string_view step);

  asio::ssl::stream<asio::ip::tcp::socket> stream_;
  asio::steady_timer watchdog_;
  std::chrono::nanoseconds timeout_;
  const Options& opts_;
  bool tls_ = false;
  bool pipelining_ = false;
  bool timed_out_ = false;
  std::uint64_t arm_generation_ = 0;
  // The watchdog's handler may run after this object is gone; it checks this flag first.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::string in_;
  std::array<char, 16384> buf_{};
};

/// Throws SessionError unless `r` is of class `expected_class` (2 for 2xx, 3 for 3xx).
void expect(const Reply& r, int expected_class, std::string_view step);

}  // namespace sluice::bench
