// Opening a TCP connection with a time limit, for the two clients (delivery and probe).
#pragma once
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <system_error>

#include "base/result.h"

namespace sluice::net {

/// Connects to `endpoint`, giving up after `timeout` (the error is then asio::error::timed_out).
/// `executor` is taken by reference (it must outlive the call) to keep non-trivial temporaries
/// out of co_await expressions (GCC PR 99576).
asio::awaitable<Result<asio::ip::tcp::socket, std::error_code>> connect_within(
    const asio::any_io_executor& executor, asio::ip::tcp::endpoint endpoint,
    std::chrono::steady_clock::duration timeout);

}  // namespace sluice::net
