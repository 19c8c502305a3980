// Reading the PROXY header (net/proxy_header.h) a load balancer sends before the client's bytes,
// on a receive connector with proxy_protocol (docs/load-balancer.md).
#pragma once
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "base/result.h"
#include "net/proxy_header.h"

namespace sluice::inbound {

struct ProxyRead {
  net::ProxyHeader header;
  std::string early_bytes;  ///< what came after the header in the same reads: the client's, for the session
};

/// Reads until the header is complete, however it is split across reads, within `timeout` for
/// all of it. The error (one line for the log) says what was wrong: no header, a malformed or
/// over-long one, the connection closed, the time ran out. `socket` is shared with the timer,
/// which closes it at the deadline.
asio::awaitable<Result<ProxyRead>> read_proxy_header(std::shared_ptr<asio::ip::tcp::socket> socket,
                                                     net::ProxyVersions versions,
                                                     std::chrono::steady_clock::duration timeout);

/// True when `header`, arriving on the connection from `balancer` to `local`, is the balancer
/// speaking for itself rather than for a client (a health check): it names no client (v2 LOCAL,
/// v1 UNKNOWN), or it names exactly this connection. HAProxy 2.6's health checks with
/// check-send-proxy send v2 LOCAL, but in v1 "PROXY TCP4 <its own address and port> <ours>".
bool is_balancer_itself(const net::ProxyHeader& header, const asio::ip::tcp::endpoint& balancer,
                        const asio::ip::tcp::endpoint& local);

}  // namespace sluice::inbound
