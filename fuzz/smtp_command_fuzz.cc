// The SMTP command parser (src/smtp/command.h): every line of the input is parsed as a command,
// and its argument as MAIL FROM / RCPT TO, with and without SMTPUTF8.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "smtp/command.h"

using namespace sluice::smtp;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto up = [](char c) { return c >= 'a' && c <= 'z' ? char(c - 32) : c; };
    if (up(a[i]) != up(b[i])) return false;
  }
  return true;
}

/// The argument text a client would send for `p` (parameters in order, keyword upper-case).
std::string unparse(const PathArgument& p, std::string_view keyword) {
  std::string out(keyword);
  out += ":<";
  if (!p.null_path) out += p.mailbox.domain.empty() ? p.mailbox.local_part : p.mailbox.str();
  out += '>';
  for (const auto& [k, v] : p.params) {
    out += ' ';
    out += k;
    if (!v.empty()) out += '=' + v;
  }
  return out;
}

void check_path(std::string_view argument, std::string_view keyword, bool utf8) {
  auto result = parse_path_argument(argument, keyword, utf8);
  if (!result) {
    // A refusal is one well-formed reply line: no client byte may split it.
    const Reply& reply = result.error();
    FUZZ_CHECK(reply.code == 501 || reply.code == 553);
    FUZZ_CHECK(!reply.enhanced.empty());
    FUZZ_CHECK(fuzz::single_wire_line(reply.wire()));
    return;
  }
  const PathArgument& p = *result;
  FUZZ_CHECK(!p.null_path || keyword == "FROM");
  if (!p.null_path) {
    FUZZ_CHECK(!p.mailbox.local_part.empty());
    FUZZ_CHECK(p.mailbox.local_part.size() + p.mailbox.domain.size() + 3 <= 256);
    if (!utf8) {
      for (unsigned char c : p.mailbox.str()) FUZZ_CHECK(c < 0x80);
    }
  }
  for (const auto& [k, v] : p.params) {
    FUZZ_CHECK(!k.empty() && k.find_first_of(" =\r\n") == std::string::npos);
    FUZZ_CHECK(v.find_first_of(" \r\n") == std::string::npos);
  }
  // What was accepted, written back canonically, is accepted again as the same thing.
  auto again = parse_path_argument(unparse(p, keyword), keyword, utf8);
  FUZZ_CHECK(again.ok());
  const PathArgument& q = *again;
  FUZZ_CHECK(q.null_path == p.null_path);
  FUZZ_CHECK(q.mailbox.local_part == p.mailbox.local_part);
  FUZZ_CHECK(q.mailbox.domain == p.mailbox.domain);
  FUZZ_CHECK(q.params == p.params);
}

void check_line(std::string_view line) {
  Command cmd = parse_command(line);
  FUZZ_CHECK(cmd.verb_text == line.substr(0, line.find(' ')));
  if (cmd.verb != Verb::Unknown) FUZZ_CHECK(iequals(cmd.verb_text, verb_name(cmd.verb)));
  if (!cmd.argument.empty()) {
    FUZZ_CHECK(cmd.argument.front() != ' ');
    FUZZ_CHECK(cmd.argument.back() != ' ' && cmd.argument.back() != '\t');
    FUZZ_CHECK(line.find(cmd.argument) != std::string_view::npos);
    // The canonical form of the command parses to the same command.
    Command again = parse_command(cmd.verb_text + " " + cmd.argument);
    FUZZ_CHECK(again.verb == cmd.verb && again.verb_text == cmd.verb_text && again.argument == cmd.argument);
  }
  for (bool utf8 : {false, true}) {
    check_path(cmd.argument, "FROM", utf8);
    check_path(cmd.argument, "TO", utf8);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (std::string_view line : fuzz::split_lines(text)) check_line(line);
  return 0;
}
