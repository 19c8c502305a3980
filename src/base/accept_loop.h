// The parts every small stream server of sluice shares (the control socket, the admin listener):
// an accept loop that survives a failed accept, and one deadline per exchange.
#pragma once
#include <asio/awaitable.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <memory>
#include <string_view>
#include <system_error>

#include "base/logging.h"

namespace sluice {

/// Accepts connections until `stopped` is set or the acceptor is closed, handing each socket to
/// `on_socket`. A failed accept (no descriptors left, say) is logged as "<what>: accept failed:
/// ..." and tried again 100 ms later rather than ending the loop. `what` must outlive the loop (a
/// literal).
template <class Acceptor, class OnSocket>
asio::awaitable<void> accept_until_stopped(Acceptor& acceptor, const bool& stopped, std::string_view what,
                                           OnSocket on_socket) {
  while (!stopped) {
    std::error_code ec;
    auto socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      log_warning("{}: accept failed: {}", what, ec.message());
      asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    on_socket(std::move(socket));
  }
}

/// Arms `deadline` (already given its expiry) to close `socket` when it fires: one deadline for a
/// whole exchange, so that a client that neither sends nor reads is cut off. Cancelling the timer,
/// or the socket being gone by then, leaves it alone.
template <class Socket>
void close_at_deadline(asio::steady_timer& deadline, const std::shared_ptr<Socket>& socket) {
  deadline.async_wait([weak = std::weak_ptr<Socket>(socket)](std::error_code ec) {
    if (ec) return;
    if (auto s = weak.lock()) {
      std::error_code ignored;
      s->close(ignored);
    }
  });
}

/// A server's stop: closes its acceptor and every open connection (a set of shared sockets), and
/// forgets them.
template <class Acceptor, class Connections>
void close_acceptor_and_connections(Acceptor& acceptor, Connections& connections) {
  std::error_code ignored;
  acceptor.close(ignored);
  for (const auto& socket : connections) socket->close(ignored);
  connections.clear();
}

}  // namespace sluice
