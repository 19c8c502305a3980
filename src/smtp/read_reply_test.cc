#include "smtp/read_reply.h"

#include <gtest/gtest.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/write.hpp>

#include <memory>
#include <string>

namespace sluice::smtp {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;

asio::awaitable<void> read_into(net::Connection* connection, std::size_t max_line, Result<Reply, ReadError>* out,
                                bool* done) {
  *out = co_await read_reply(*connection, 5s, max_line, /*max_lines=*/3);
  *done = true;
}

/// A loopback pair: the test writes what a server would send into `server`, and read() runs
/// read_reply on the client's connection.
class ReadReplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    server_.connect(acceptor.local_endpoint());
    connection_ = std::make_unique<net::Connection>(acceptor.accept());
  }

  void send(std::string_view bytes) { asio::write(server_, asio::buffer(bytes.data(), bytes.size())); }

  Result<Reply, ReadError> read(std::size_t max_line = 512) {
    Result<Reply, ReadError> out = fail(ReadError{});
    bool done = false;
    asio::co_spawn(io_, read_into(connection_.get(), max_line, &out, &done), asio::detached);
    io_.run_for(5s);
    io_.restart();
    EXPECT_TRUE(done) << "read_reply did not return";
    return out;
  }

  asio::io_context io_;
  tcp::socket server_{io_};
  std::unique_ptr<net::Connection> connection_;
};

TEST_F(ReadReplyTest, MultiLineRepliesOneAfterTheOther) {
  send("250-mx.example.org Hello\r\n250-PIPELINING\r\n250 2.0.0 STARTTLS\r\n220 2.0.0 Ready\r\n");
  auto first = read();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->code, 250);
  EXPECT_EQ(first->lines, (std::vector<std::string>{"mx.example.org Hello", "PIPELINING", "2.0.0 STARTTLS"}));
  auto second = read();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->code, 220);
  EXPECT_EQ(second->enhanced, "2.0.0");
}

TEST_F(ReadReplyTest, NotSmtpIsMalformedAndNamesTheLine) {
  send("HTTP/1.1 400 Bad Request\r\n");
  auto r = read();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().failure, ReadFailure::Malformed);
  EXPECT_EQ(r.error().line, "HTTP/1.1 400 Bad Request");
  EXPECT_FALSE(r.error().error.empty());
}

TEST_F(ReadReplyTest, TooManyLinesIsMalformed) {
  send("250-a\r\n250-b\r\n250-c\r\n250 d\r\n");
  auto r = read();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().failure, ReadFailure::Malformed);
  EXPECT_EQ(r.error().error, "reply has too many lines");
}

TEST_F(ReadReplyTest, LongLineIsTooLong) {
  send("250 " + std::string(600, 'x') + "\r\n");
  auto r = read(512);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().failure, ReadFailure::TooLong);
}

TEST_F(ReadReplyTest, CloseInTheMiddleIsLost) {
  send("250-first line\r\n");
  server_.close();
  auto r = read();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().failure, ReadFailure::Lost);
  EXPECT_TRUE(r.error().io.peer_closed);
}

}  // namespace
}  // namespace sluice::smtp
