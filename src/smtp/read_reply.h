// Reading one SMTP reply off a connection, for every client of the gateway (outbound delivery,
// the TLS probe): lines into a ReplyAssembler until the reply is complete or the read fails.
#pragma once
#include <asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <string>

#include "base/result.h"
#include "net/connection.h"
#include "smtp/reply.h"

namespace sluice::smtp {

/// Why read_reply() returned no reply.
enum class ReadFailure {
  Lost,       ///< no line: timeout, shutdown, close or socket error (`io` says which)
  TooLong,    ///< a line longer than `max_line` octets (the connection skipped it)
  Malformed,  ///< not an SMTP reply: bad syntax, a code that changed, too many lines
};

struct ReadError {
  ReadFailure failure = ReadFailure::Lost;
  net::IoError io;    ///< Lost: what the connection reported
  std::string error;  ///< Malformed: what was wrong (ReplyAssembler::error())
  std::string line;   ///< Malformed: the line that was wrong, as received
};

/// Reads one complete, possibly multi-line reply within `timeout` (set on `connection` for the
/// whole reply). `max_line` counts the CRLF; `max_lines` bounds a multi-line reply.
asio::awaitable<Result<Reply, ReadError>> read_reply(net::Connection& connection,
                                                     std::chrono::steady_clock::duration timeout, std::size_t max_line,
                                                     std::size_t max_lines = 100);

}  // namespace sluice::smtp
