// Opening a TCP connection with a time limit, for the two clients (delivery and probe).
#pragma once
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <optional>
#include <system_error>

namespace sluice::net {

struct Connected {
  std::error_code error;  ///< asio::error::timed_out when the time ran out
  std::optional<asio::ip::tcp::socket> socket;  ///< set when error is empty
};

/// Connects to `endpoint`, giving up after `timeout`. `executor` is taken by reference (it must
/// outlive the call) to keep non-trivial temporaries out of co_await expressions (GCC PR 99576).
asio::awaitable<Connected> connect_within(const asio::any_io_executor& executor, asio::ip::tcp::endpoint endpoint,
                                          std::chrono::steady_clock::duration timeout);

}  // namespace sluice::net
