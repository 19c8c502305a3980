#include "smtp/read_reply.h"

#include "smtp/reply_reader.h"

namespace sluice::smtp {

asio::awaitable<Result<Reply, ReadError>> read_reply(net::Connection& connection,
                                                     std::chrono::steady_clock::duration timeout, std::size_t max_line,
                                                     std::size_t max_lines) {
  ReplyAssembler assembler(max_lines);
  connection.set_timeout(timeout);
  for (;;) {
    auto line = co_await connection.read_line(max_line);
    if (!line) co_return fail(ReadError{ReadFailure::Lost, line.error(), {}, {}});
    if (line->too_long) co_return fail(ReadError{ReadFailure::TooLong, {}, {}, {}});
    auto status = assembler.add(line->text);
    if (status == ReplyAssembler::Status::Error)
      co_return fail(ReadError{ReadFailure::Malformed, {}, assembler.error(), std::string(line->text)});
    if (status == ReplyAssembler::Status::Complete) co_return assembler.take();
  }
}

}  // namespace sluice::smtp
