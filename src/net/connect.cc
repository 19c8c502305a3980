#include "net/connect.h"

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <memory>

namespace sluice::net {

asio::awaitable<Result<asio::ip::tcp::socket, std::error_code>> connect_within(
    const asio::any_io_executor& executor, asio::ip::tcp::endpoint endpoint,
    std::chrono::steady_clock::duration timeout) {
  struct Pending {
    explicit Pending(const asio::any_io_executor& ex) : socket(ex) {}
    asio::ip::tcp::socket socket;
    bool timed_out = false;
  };
  // Shared with the timer's handler, which may run after this frame has moved on (a timer that
  // fired just as the connect completed still has its handler queued).
  auto pending = std::make_shared<Pending>(executor);
  asio::steady_timer timer(executor, timeout);
  timer.async_wait([pending](std::error_code ec) {
    if (ec) return;
    pending->timed_out = true;
    std::error_code ignored;
    pending->socket.close(ignored);
  });
  std::error_code ec;
  co_await pending->socket.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
  timer.cancel();
  if (pending->timed_out) ec = asio::error::timed_out;
  if (ec) co_return fail(ec);
  co_return std::move(pending->socket);
}

}  // namespace sluice::net
