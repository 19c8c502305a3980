#include "reply.h"

#include <cctype>

namespace sluice::bench {
namespace {

// Long enough for any real reply line; beyond it a server is not speaking SMTP.
constexpr std::size_t kMaxLine = 4096;

bool is_code(std::string_view line) {
  return line.size() >= 3 && line[0] >= '2' && line[0] <= '5' && std::isdigit(static_cast<unsigned char>(line[1])) &&
         std::isdigit(static_cast<unsigned char>(line[2]));
}

std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 80)) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::string Reply::text() const {
  std::string out;
  for (const auto& l : lines) {
    if (!out.empty()) out += " / ";
    out += l;
  }
  return out;
}

bool Reply::has_extension(std::string_view keyword) const {
  // The first line of an EHLO reply is the greeting, not an extension.
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].size() < 5) continue;
    std::string_view rest = std::string_view(lines[i]).substr(4);
    std::string_view word = rest.substr(0, rest.find(' '));
    if (word.size() != keyword.size()) continue;
    bool same = true;
    for (std::size_t k = 0; k < word.size() && same; ++k)
      same = std::toupper(static_cast<unsigned char>(word[k])) == std::toupper(static_cast<unsigned char>(keyword[k]));
    if (same) return true;
  }
  return false;
}

ReplyStatus take_reply(std::string& buffer, Reply& out, std::string& error) {
  Reply reply;
  std::size_t pos = 0;
  for (;;) {
    std::size_t lf = buffer.find('\n', pos);
    if (lf == std::string::npos) {
      if (buffer.size() - pos > kMaxLine) {
        error = "reply line longer than 4096 octets: " + printable(std::string_view(buffer).substr(pos));
        return ReplyStatus::malformed;
      }
      return ReplyStatus::incomplete;
    }
    std::string_view line(buffer.data() + pos, lf - pos);
    if (line.empty() || line.back() != '\r') {
      error = "reply line not ended by CRLF: " + printable(line);
      return ReplyStatus::malformed;
    }
    line.remove_suffix(1);
    if (line.size() > kMaxLine) {
      error = "reply line longer than 4096 octets: " + printable(line);
      return ReplyStatus::malformed;
    }
    if (!is_code(line) || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
      error = "not an SMTP reply line: " + printable(line);
      return ReplyStatus::malformed;
    }
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (reply.code != 0 && code != reply.code) {
      error = "reply code changes inside a multi-line reply: " + printable(line);
      return ReplyStatus::malformed;
    }
    reply.code = code;
    reply.lines.emplace_back(line);
    pos = lf + 1;
    if (line.size() == 3 || line[3] == ' ') break;
  }
  buffer.erase(0, pos);
  out = std::move(reply);
  return ReplyStatus::complete;
}

}  // namespace sluice::bench
