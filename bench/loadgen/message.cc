#include "message.h"

#include <random>

#include <fmt/format.h>

namespace sluice::bench {

std::string message_id(std::string_view run, std::uint64_t seq) {
  return fmt::format("<{}.{:016x}@sluice-loadgen>", run, seq);
}

std::string message_id_line(std::string_view id) { return fmt::format("Message-ID: {}\r\n", id); }

std::string new_run_id() {
  std::random_device rd;
  std::uint64_t v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  return fmt::format("{:016x}", v);
}

std::string make_message(std::size_t size, std::string_view from, std::string_view to) {
  std::string m = fmt::format(
      "From: <{}>\r\nTo: <{}>\r\nSubject: sluice-loadgen test message\r\n"
      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n",
      from, to);
  static constexpr std::string_view kAlphabet =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?-+=()";
  std::size_t line_no = 0;
  while (m.size() < size) {
    std::size_t room = size - m.size();
    // A body line is at most 76 characters plus CRLF; the last one is cut to land exactly on size.
    std::size_t len = std::min<std::size_t>(room, 78);
    if (len < 2) {
      // One octet left cannot be a line of its own (CRLF alone is two): lengthen the subject.
      m.insert(m.find("\r\n", m.find("Subject:")), 1, '.');
      break;
    }
    std::string line;
    for (std::size_t i = 0; i + 2 < len; ++i) line += kAlphabet[(line_no * 7 + i) % kAlphabet.size()];
    if (line_no % 8 == 0 && !line.empty()) line[0] = '.';
    m += line;
    m += "\r\n";
    ++line_no;
  }
  return m;
}

std::string dot_stuff(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32 + 5);
  bool line_start = true;
  for (char c : text) {
    if (line_start && c == '.') out += '.';
    out += c;
    line_start = c == '\n';
  }
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  out += ".\r\n";
  return out;
}

}  // namespace sluice::bench
