#include "smtp/read_reply.h"

#include "smtp/reply_reader.h"

namespace sluice::smtp {

asio::awaitable<ReplyRead> read_reply(net::Connection& connection, std::chrono::steady_clock::duration timeout,
                                      std::size_t max_line, std::size_t max_lines) {
  ReplyAssembler assembler(max_lines);
  connection.set_timeout(timeout);
  ReplyRead out;
  for (;;) {
    auto line = co_await connection.read_line(max_line);
    if (!line) {
      out.failure = ReadFailure::Lost;
      co_return out;
    }
    if (line->too_long) {
      out.failure = ReadFailure::TooLong;
      co_return out;
    }
    auto status = assembler.add(line->text);
    if (status == ReplyAssembler::Status::Error) {
      out.failure = ReadFailure::Malformed;
      out.error = assembler.error();
      out.line = std::string(line->text);
      co_return out;
    }
    if (status == ReplyAssembler::Status::Complete) {
      out.reply = assembler.take();
      co_return out;
    }
  }
}

}  // namespace sluice::smtp
