#include "inbound/proxy_reader.h"

#include <fmt/format.h>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <array>

#include "net/connection.h"

namespace sluice::inbound {

asio::awaitable<Result<ProxyRead>> read_proxy_header(std::shared_ptr<asio::ip::tcp::socket> socket,
                                                     net::ProxyVersions versions,
                                                     std::chrono::steady_clock::duration timeout) {
  // Shared with the timer's handler, which may run after this frame has moved on.
  auto timed_out = std::make_shared<bool>(false);
  asio::steady_timer timer(socket->get_executor(), timeout);
  timer.async_wait([socket, timed_out](std::error_code ec) {
    if (ec) return;
    *timed_out = true;
    std::error_code ignored;
    socket->close(ignored);
  });
  std::string received;
  // A read never takes more than the longest header: what follows it is the client's, kept for
  // the session, and bounded so.
  std::array<char, net::kMaxProxyV2Length> chunk;
  for (;;) {
    std::error_code ec;
    const std::size_t n =
        co_await socket->async_read_some(asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
    received.append(chunk.data(), n);
    if (*timed_out) {
      co_return fail(fmt::format("no complete PROXY header within {:g}s ({} bytes received)",
                                 std::chrono::duration<double>(timeout).count(), received.size()));
    }
    auto parsed = net::parse_proxy_header(received, versions);
    if (!parsed) {
      timer.cancel();
      co_return fail(std::move(parsed.error()));
    }
    if (*parsed) {
      timer.cancel();
      const std::size_t length = (*parsed)->length;
      co_return ProxyRead{std::move(**parsed), received.substr(length)};
    }
    if (ec) {
      timer.cancel();
      co_return fail(received.empty() ? fmt::format("connection closed before a PROXY header ({})", ec.message())
                                      : fmt::format("connection closed after {} bytes of a PROXY header ({})",
                                                    received.size(), ec.message()));
    }
  }
}

bool is_balancer_itself(const net::ProxyHeader& header, const asio::ip::tcp::endpoint& balancer,
                        const asio::ip::tcp::endpoint& local) {
  if (!header.names_client()) return true;
  // A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d; the header writes a.b.c.d.
  auto same = [](const asio::ip::tcp::endpoint& a, const asio::ip::tcp::endpoint& b) {
    return a.port() == b.port() && net::plain_address(a.address()) == net::plain_address(b.address());
  };
  return same(*header.source, balancer) && same(*header.destination, local);
}

}  // namespace sluice::inbound
