#include "net/connect.h"

#include <gtest/gtest.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include <chrono>
#include <optional>

namespace sluice::net {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;

using Connected = std::optional<Result<tcp::socket, std::error_code>>;

asio::awaitable<void> connect_into(const asio::any_io_executor* executor, tcp::endpoint endpoint, Connected* out) {
  out->emplace(co_await connect_within(*executor, endpoint, 5s));
}

/// connect_within's result for `endpoint`, run on `io`.
Connected connect_to(asio::io_context& io, tcp::endpoint endpoint) {
  Connected out;
  const asio::any_io_executor executor = io.get_executor();
  asio::co_spawn(io, connect_into(&executor, endpoint, &out), asio::detached);
  io.run_for(10s);
  return out;
}

TEST(ConnectWithin, GivesTheConnectedSocket) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto connected = connect_to(io, acceptor.local_endpoint());
  ASSERT_TRUE(connected.has_value());
  ASSERT_TRUE(*connected);
  EXPECT_EQ((*connected)->remote_endpoint(), acceptor.local_endpoint());
}

TEST(ConnectWithin, RefusedIsTheErrorCode) {
  asio::io_context io;
  tcp::endpoint closed;
  {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    closed = acceptor.local_endpoint();
  }  // nothing listens on the port any more
  auto connected = connect_to(io, closed);
  ASSERT_TRUE(connected.has_value());
  ASSERT_FALSE(*connected);
  EXPECT_EQ(connected->error(), asio::error::connection_refused);
}

}  // namespace
}  // namespace sluice::net
