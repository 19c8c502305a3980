// The client's reply reader (src/smtp/reply_reader.h): every input line goes to a
// ReplyAssembler, as the SMTP client feeds it. Each completed reply must be well-formed, and its
// wire form must read back as the same reply.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "smtp/reply_reader.h"

using namespace sluice::smtp;

namespace {

bool has_cr_or_lf(const Reply& reply) {
  for (const auto& line : reply.lines)
    if (line.find_first_of("\r\n") != std::string::npos) return true;
  return false;
}

void check_reply(const Reply& reply, std::size_t max_lines) {
  FUZZ_CHECK(reply.code >= 200 && reply.code <= 599);
  FUZZ_CHECK(!reply.lines.empty() && reply.lines.size() <= max_lines);
  FUZZ_CHECK(reply.enhanced.empty() || enhanced_code_length(reply.enhanced) == reply.enhanced.size());

  // Reading the wire form back gives the same reply, completed on its last line only. (A bare
  // CR inside a line is flattened to a space by wire(), which may turn "5.1.1\r" into an
  // enhanced code: such replies only check that no line can be forged.)
  const std::string wire = reply.wire();
  FUZZ_CHECK(wire.ends_with("\r\n"));
  if (has_cr_or_lf(reply)) {
    std::size_t crlfs = 0;
    for (std::size_t p = wire.find("\r\n"); p != std::string::npos; p = wire.find("\r\n", p + 2)) ++crlfs;
    FUZZ_CHECK(crlfs == reply.lines.size());
    FUZZ_CHECK(std::count(wire.begin(), wire.end(), '\r') == std::ptrdiff_t(crlfs));
    FUZZ_CHECK(std::count(wire.begin(), wire.end(), '\n') == std::ptrdiff_t(crlfs));
    return;
  }
  ReplyAssembler again(max_lines);
  std::size_t pos = 0, n = 0;
  ReplyAssembler::Status status = ReplyAssembler::Status::NeedMore;
  while (pos < wire.size()) {
    const std::size_t eol = wire.find("\r\n", pos);
    FUZZ_CHECK(status == ReplyAssembler::Status::NeedMore);
    const std::string_view line = std::string_view(wire).substr(pos, eol - pos);
    FUZZ_CHECK(line.find_first_of("\r\n") == std::string_view::npos);
    status = again.add(line);
    pos = eol + 2;
    ++n;
  }
  FUZZ_CHECK(n == reply.lines.size());
  FUZZ_CHECK(status == ReplyAssembler::Status::Complete);
  const Reply back = again.take();
  FUZZ_CHECK(back.code == reply.code);
  FUZZ_CHECK(back.enhanced == reply.enhanced);
  FUZZ_CHECK(back.lines.size() == reply.lines.size());
  for (std::size_t i = 0; i < back.lines.size(); ++i) FUZZ_CHECK(back.lines[i] == reply.lines[i]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::size_t max_lines = 1 + (size % 7);  // small limits as well as large ones
  ReplyAssembler assembler(size % 2 ? max_lines : 100);
  const std::size_t limit = size % 2 ? max_lines : 100;
  for (std::string_view line : fuzz::split_lines(text)) {
    auto parsed = parse_reply_line(line);
    FUZZ_CHECK(parsed.has_value() || !parsed.error().message.empty());  // a refusal says why
    if (parsed) {
      FUZZ_CHECK(parsed->code >= 200 && parsed->code <= 599);
      FUZZ_CHECK(parsed->enhanced.empty() || enhanced_code_length(parsed->enhanced) == parsed->enhanced.size());
    }
    switch (assembler.add(line)) {
      case ReplyAssembler::Status::NeedMore:
        FUZZ_CHECK(parsed && parsed->continuation);
        break;
      case ReplyAssembler::Status::Complete:
        FUZZ_CHECK(parsed && !parsed->continuation);
        check_reply(assembler.take(), limit);
        break;
      case ReplyAssembler::Status::Error:
        FUZZ_CHECK(!assembler.error().empty());
        assembler.reset();
        break;
    }
  }
  return 0;
}
