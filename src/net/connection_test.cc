#include "net/connection.h"

#include <gtest/gtest.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace sluice::net {
namespace {

using asio::awaitable;
using asio::ip::tcp;
using namespace std::chrono_literals;

/// A connected pair on loopback: `connection` is the server side under test, `client` a plain
/// socket the test writes into. Everything runs on one io_context on the test thread.
class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client_.connect(acceptor.local_endpoint());
    connection_ = std::make_shared<Connection>(acceptor.accept());
  }

  /// Runs `body` as a coroutine and closes the connection afterwards; fails the test if it does
  /// not finish within a few seconds (a read that never ends is a bug under test, not a hang).
  void run(std::function<awaitable<void>()> body) {
    bool finished = false;
    std::exception_ptr failure;
    asio::co_spawn(
        io_,
        [&]() -> awaitable<void> {
          co_await body();
          co_await connection_->close();
          finished = true;
        },
        [&](std::exception_ptr e) { failure = std::move(e); });
    io_.run_for(5s);
    if (failure) std::rethrow_exception(failure);
    EXPECT_TRUE(finished) << "the coroutine did not finish in time";
  }

  void send(std::string_view bytes) { asio::write(client_, asio::buffer(bytes.data(), bytes.size())); }

  /// Writes `bytes` after `delay`, while the coroutine under test is waiting.
  void send_later(std::string bytes, std::chrono::milliseconds delay) {
    asio::co_spawn(
        io_,
        [this, bytes = std::move(bytes), delay]() -> awaitable<void> {
          asio::steady_timer timer(io_, delay);
          co_await timer.async_wait(asio::use_awaitable);
          send(bytes);
        },
        asio::detached);
  }

  awaitable<void> sleep(std::chrono::milliseconds delay) {
    asio::steady_timer timer(io_, delay);
    co_await timer.async_wait(asio::use_awaitable);
  }

  /// read_line as a plain value: "<too long>" for an overlong line, "<none>" for nullopt.
  awaitable<std::string> line(std::size_t max = 512) {
    auto l = co_await connection_->read_line(max);
    if (!l) co_return "<none>";
    if (l->too_long) {
      EXPECT_TRUE(l->text.empty());
      co_return "<too long>";
    }
    co_return std::string(l->text);
  }

  /// The failure of a read_line expected to fail (a default IoError, and a test failure, if it does not).
  awaitable<IoError> read_failure() {
    auto l = co_await connection_->read_line(512);
    EXPECT_FALSE(l) << "read a line: " << (l ? l->text : "");
    co_return l ? IoError{} : l.error();
  }

  asio::io_context io_;
  tcp::socket client_{io_};
  std::shared_ptr<Connection> connection_;
};

TEST_F(ConnectionTest, ReadLineSplitsOnLfAndStripsOneCr) {
  send("EHLO a\r\nNOOP\nbare\r\r\n\r\nlast\r\n");
  run([&]() -> awaitable<void> {
    EXPECT_EQ(co_await line(), "EHLO a");
    EXPECT_EQ(co_await line(), "NOOP");
    EXPECT_EQ(co_await line(), "bare\r");  // only the CR right before the LF belongs to the ending
    EXPECT_EQ(co_await line(), "");
    EXPECT_EQ(co_await line(), "last");
    EXPECT_EQ(connection_->buffered(), "");
  });
}

TEST_F(ConnectionTest, LineSplitAcrossWritesIsJoined) {
  send("HEL");
  run([&]() -> awaitable<void> {
    EXPECT_TRUE(co_await connection_->fill());
    EXPECT_EQ(connection_->buffered(), "HEL");
    send_later("LO wor", 20ms);
    send_later("ld\r", 40ms);
    send_later("\nNEXT\r\n", 60ms);
    EXPECT_EQ(co_await line(), "HELLO world");
    EXPECT_EQ(co_await line(), "NEXT");
  });
}

TEST_F(ConnectionTest, PipelinedBytesStayBuffered) {
  send("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDAT");
  run([&]() -> awaitable<void> {
    EXPECT_EQ(co_await line(), "MAIL FROM:<a@b>");
    EXPECT_EQ(connection_->buffered(), "RCPT TO:<c@d>\r\nDAT");
    EXPECT_EQ(co_await line(), "RCPT TO:<c@d>");
    EXPECT_EQ(connection_->buffered(), "DAT");
    send("A\r\n");
    EXPECT_EQ(co_await line(), "DATA");
  });
}

TEST_F(ConnectionTest, LineOfExactlyMaxLengthIsAcceptedOneMoreIsTooLong) {
  // max_length counts the CRLF: 8 octets = 6 characters + CRLF.
  send("abcdef\r\nabcdefg\r\nabcdefg\nok\r\n");
  run([&]() -> awaitable<void> {
    EXPECT_EQ(co_await line(8), "abcdef");
    EXPECT_EQ(co_await line(8), "<too long>");
    EXPECT_EQ(co_await line(8), "abcdefg");  // 7 + LF = 8 octets
    EXPECT_EQ(co_await line(8), "ok");
  });
}

TEST_F(ConnectionTest, TooLongLineIsReportedOnceAndSkipped) {
  send(std::string(100, 'x') + "\r\nafter\r\n");
  run([&]() -> awaitable<void> {
    EXPECT_EQ(co_await line(10), "<too long>");
    EXPECT_EQ(co_await line(10), "after");
  });
}

TEST_F(ConnectionTest, TooLongLineArrivingInManyChunksIsReportedOnceWithoutBuffering) {
  // Far beyond one read chunk, in pieces, so the skipping spans many fills.
  send(std::string(20000, 'y'));
  send_later(std::string(20000, 'y'), 20ms);
  send_later(std::string(5000, 'y') + "\r\nnext\r\n", 40ms);
  run([&]() -> awaitable<void> {
    EXPECT_EQ(co_await line(512), "<too long>");
    EXPECT_EQ(co_await line(512), "next");
    EXPECT_EQ(connection_->buffered(), "");
  });
}

TEST_F(ConnectionTest, PartialLineAtEofIsNotReturned) {
  send("QUIT\r\nhalf");
  client_.shutdown(tcp::socket::shutdown_send);
  run([&]() -> awaitable<void> {
    EXPECT_EQ(co_await line(), "QUIT");
    IoError failure = co_await read_failure();
    EXPECT_TRUE(failure.peer_closed);
    EXPECT_EQ(failure.code, asio::error::eof);
    EXPECT_EQ(failure.interrupt, Interrupt::None);
  });
}

TEST_F(ConnectionTest, DiscardBufferedReturnsTheCountAndEmptiesTheBuffer) {
  send("STARTTLS\r\nEHLO injected\r\nMAIL");
  run([&]() -> awaitable<void> {
    EXPECT_EQ(co_await line(), "STARTTLS");
    EXPECT_EQ(connection_->discard_buffered(), 19u);  // "EHLO injected\r\nMAIL"
    EXPECT_EQ(connection_->buffered(), "");
    EXPECT_EQ(connection_->discard_buffered(), 0u);
    send("NOOP\r\n");
    EXPECT_EQ(co_await line(), "NOOP");
  });
}

TEST_F(ConnectionTest, TimeoutFailsAPendingRead) {
  run([&]() -> awaitable<void> {
    connection_->start_watchdog(connection_);
    connection_->set_timeout(50ms);
    auto started = std::chrono::steady_clock::now();
    IoError failure = co_await read_failure();
    auto waited = std::chrono::steady_clock::now() - started;
    EXPECT_GE(waited, 45ms);
    EXPECT_LT(waited, 2s);
    EXPECT_TRUE(failure.timed_out());
    EXPECT_EQ(failure.code, asio::error::operation_aborted);
    EXPECT_FALSE(failure.peer_closed);
    // The session clears the interrupt to send its 421; reading works again after that.
    connection_->clear_interrupt();
    connection_->set_timeout(2s);
    send("again\r\n");
    EXPECT_EQ(co_await line(), "again");
  });
}

TEST_F(ConnectionTest, DeadlinePassedBetweenOperationsFailsTheNextRead) {
  run([&]() -> awaitable<void> {
    connection_->start_watchdog(connection_);
    connection_->set_timeout(10ms);
    co_await sleep(60ms);
    send("late\r\n");
    co_await sleep(20ms);
    EXPECT_TRUE((co_await read_failure()).timed_out());
  });
}

TEST_F(ConnectionTest, ResettingTheTimeoutExtendsTheDeadline) {
  run([&]() -> awaitable<void> {
    connection_->start_watchdog(connection_);
    connection_->set_timeout(40ms);
    co_await sleep(20ms);
    connection_->set_timeout(2s);
    send_later("in time\r\n", 100ms);
    EXPECT_EQ(co_await line(), "in time");
  });
}

TEST_F(ConnectionTest, InterruptShutdownFailsAPendingRead) {
  run([&]() -> awaitable<void> {
    connection_->start_watchdog(connection_);
    asio::co_spawn(
        io_,
        [&]() -> awaitable<void> {
          co_await sleep(20ms);
          connection_->interrupt(Interrupt::Shutdown);
        },
        asio::detached);
    IoError failure = co_await read_failure();
    EXPECT_EQ(failure.interrupt, Interrupt::Shutdown);
    EXPECT_EQ(failure.code, asio::error::operation_aborted);
  });
}

TEST_F(ConnectionTest, InterruptBeforeReadFailsItAtOnceButBufferedLinesAreStillServed) {
  send("one\r\ntwo\r\n");
  run([&]() -> awaitable<void> {
    EXPECT_EQ(co_await line(), "one");
    connection_->interrupt(Interrupt::Shutdown);
    // A complete line already buffered needs no read, so it is still returned...
    EXPECT_EQ(co_await line(), "two");
    // ...but nothing more is read from the socket.
    send("three\r\n");
    co_await sleep(20ms);
    EXPECT_EQ((co_await read_failure()).interrupt, Interrupt::Shutdown);
  });
}

TEST_F(ConnectionTest, QueueAndSendSendEverythingInOrder) {
  run([&]() -> awaitable<void> {
    EXPECT_FALSE(connection_->has_queued());
    EXPECT_TRUE(co_await connection_->send());  // nothing queued: trivially fine
    connection_->queue("250 one\r\n");
    connection_->queue("250 two\r\n");
    EXPECT_TRUE(connection_->has_queued());
    EXPECT_TRUE(co_await connection_->send());
    EXPECT_FALSE(connection_->has_queued());
  });
  std::string received(18, '\0');
  asio::read(client_, asio::buffer(received));
  EXPECT_EQ(received, "250 one\r\n250 two\r\n");
}

TEST_F(ConnectionTest, CloseIsIdempotentAndLaterOperationsFail) {
  run([&]() -> awaitable<void> {
    co_await connection_->close();
    EXPECT_TRUE(connection_->closed());
    co_await connection_->close();
    EXPECT_EQ((co_await read_failure()).code, asio::error::operation_aborted);
    connection_->queue("x");
    auto sent = co_await connection_->send();
    EXPECT_FALSE(sent);
    if (!sent) {
      EXPECT_EQ(sent.error().code, asio::error::not_connected);
    }
  });
  // The client sees the close as EOF.
  char byte;
  std::error_code ec;
  client_.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
}

TEST_F(ConnectionTest, ServerTlsStartFailsWithTheTlsReasonWhenTheClientSpeaksPlaintext) {
  asio::ssl::context context(asio::ssl::context::tls_server);
  send("EHLO not-tls\r\n");
  run([&]() -> awaitable<void> {
    auto started = co_await connection_->start_tls_server(context);
    EXPECT_FALSE(started);
    if (started) co_return;
    EXPECT_EQ(started.error().code.category(), asio::error::get_ssl_category()) << started.error().code.message();
    EXPECT_FALSE(started.error().peer_closed);
    EXPECT_FALSE(started.error().timed_out());
  });
}

TEST_F(ConnectionTest, ServerTlsStartFailsAsPeerClosedWhenTheClientLeaves) {
  asio::ssl::context context(asio::ssl::context::tls_server);
  client_.shutdown(tcp::socket::shutdown_send);
  run([&]() -> awaitable<void> {
    auto started = co_await connection_->start_tls_server(context);
    EXPECT_FALSE(started);
    if (!started) {
      EXPECT_TRUE(started.error().peer_closed) << started.error().code.message();
    }
  });
}

TEST_F(ConnectionTest, WatchdogKeepsItsOwnerAliveUntilClose) {
  struct Owner {};
  auto owner = std::make_shared<Owner>();
  std::weak_ptr<Owner> weak = owner;
  connection_->start_watchdog(owner);
  owner.reset();
  io_.run_for(20ms);
  EXPECT_FALSE(weak.expired());
  asio::co_spawn(io_, connection_->close(), asio::detached);
  io_.restart();
  io_.run_for(1s);
  EXPECT_TRUE(weak.expired());
  EXPECT_TRUE(io_.stopped()) << "the watchdog should end with close(), leaving no work";
}

TEST_F(ConnectionTest, EndpointsAreTheSocketsOwn) {
  EXPECT_EQ(connection_->local_endpoint(), client_.remote_endpoint());
  EXPECT_EQ(connection_->remote_endpoint(), client_.local_endpoint());
  asio::co_spawn(io_, connection_->close(), asio::detached);
  io_.run_for(1s);
}

TEST(ConnectionText, EndpointTextBracketsIpv6AndUnmapsIpv4) {
  using asio::ip::make_address;
  EXPECT_EQ(endpoint_text(tcp::endpoint(make_address("127.0.0.1"), 2525)), "127.0.0.1:2525");
  EXPECT_EQ(endpoint_text(tcp::endpoint(make_address("::1"), 25)), "[::1]:25");
  EXPECT_EQ(endpoint_text(tcp::endpoint(make_address("::ffff:192.0.2.1"), 25)), "192.0.2.1:25");
  EXPECT_EQ(endpoint_text(tcp::endpoint(make_address("2001:db8::1"), 0)), "[2001:db8::1]:0");
}

TEST(ConnectionText, PlainAddressUnmapsOnlyMappedIpv4) {
  using asio::ip::make_address;
  EXPECT_EQ(plain_address(make_address("::ffff:10.0.0.1")), make_address("10.0.0.1"));
  EXPECT_TRUE(plain_address(make_address("::ffff:10.0.0.1")).is_v4());
  EXPECT_EQ(plain_address(make_address("::1")), make_address("::1"));
  EXPECT_EQ(plain_address(make_address("10.0.0.1")), make_address("10.0.0.1"));
}

}  // namespace
}  // namespace sluice::net
