#include "smtp/reply.h"
#include "base/text.h"

#include <cctype>
#include <string>

namespace sluice::smtp {
namespace {

// Reply text sometimes carries client-supplied words (an EHLO name, a verb); a CR or LF in it
// would let a client forge extra reply lines, so each is flattened to a space.
void append_text_safely(std::string& out, std::string_view text) {
  for (char c : text) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
}

/// One line without CRLF: "250-2.0.0 text", "250 text", "250 2.0.0", "250".
void append_line(std::string& out, const Reply& reply, std::string_view text, bool last) {
  out += std::to_string(reply.code);
  out.push_back(last ? ' ' : '-');
  std::string body = reply.enhanced;
  if (!reply.enhanced.empty() && !text.empty()) body.push_back(' ');
  body.append(text);
  append_text_safely(out, body);
  // "250 " with nothing after it would be a line with a dangling blank: trim it.
  if (body.empty() && last) out.pop_back();
}

/// RFC 3463: class "." subject "." detail, the class one of `classes`, subject and detail 1-3
/// digits.
bool enhanced_syntax(std::string_view enhanced, std::string_view classes) {
  const auto dot1 = enhanced.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : enhanced.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos) return false;
  const std::string_view cls = enhanced.substr(0, dot1);
  const std::string_view subject = enhanced.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view detail = enhanced.substr(dot2 + 1);
  if (cls.size() != 1 || classes.find(cls[0]) == std::string_view::npos) return false;
  return all_digits(subject) && subject.size() <= 3 && all_digits(detail) && detail.size() <= 3;
}

}  // namespace

std::string Reply::wire() const {
  std::string out;
  if (lines.empty()) {
    append_line(out, *this, {}, true);
    out += "\r\n";
    return out;
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    append_line(out, *this, lines[i], i + 1 == lines.size());
    out += "\r\n";
  }
  return out;
}

std::string Reply::one_line() const {
  std::string out;
  if (code == 0) {
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (i > 0) out.push_back(' ');
      append_text_safely(out, lines[i]);
    }
    return out;
  }
  if (lines.empty()) {
    append_line(out, *this, {}, true);
    return out;
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out.push_back(' ');
    append_line(out, *this, lines[i], i + 1 == lines.size());
  }
  return out;
}

Reply make_reply(int code, std::string_view enhanced, std::string_view text) {
  Reply reply;
  reply.code = code;
  reply.enhanced = std::string(enhanced);
  reply.lines.emplace_back(text);
  return reply;
}

Reply parse_reply_text(std::string_view text) {
  Reply reply;
  if (text.empty()) return reply;
  if (text.size() < 3 || !all_digits(text.substr(0, 3)) || (text.size() > 3 && text[3] != ' ' && text[3] != '-')) {
    reply.lines.emplace_back(text);
    return reply;
  }
  reply.code = (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0');
  std::string_view rest = text.size() > 4 ? text.substr(4) : std::string_view();
  const auto space = rest.find(' ');
  if (std::string_view first = rest.substr(0, space); enhanced_syntax(first, "245")) {
    reply.enhanced = std::string(first);
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  }
  if (!rest.empty() || !reply.enhanced.empty()) reply.lines.emplace_back(rest);
  return reply;
}

bool parse_configured_reply(std::string_view text, Reply& out) {
  // Replies travel as US-ASCII (RFC 5321 2.4); a control character could also split the line.
  for (unsigned char c : text)
    if (c < 0x20 || c >= 0x7f) return false;

  if (text.size() < 4 || !all_digits(text.substr(0, 3)) || text[3] != ' ') return false;
  const char klass = text[0];
  if (klass != '4' && klass != '5') return false;
  const int code = (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0');

  std::string_view rest = text.substr(4);
  const auto space = rest.find(' ');
  if (space == std::string_view::npos) return false;
  const std::string_view enhanced = rest.substr(0, space);
  const std::string_view reply_text = rest.substr(space + 1);

  // The class need not match the code: Exchange Online itself answers "451 5.7.3 Must issue a
  // STARTTLS command first", and administrators configure that exact reply to reproduce it.
  if (!enhanced_syntax(enhanced, "45")) return false;

  if (reply_text.find_first_not_of(' ') == std::string_view::npos) return false;

  out.code = code;
  out.enhanced = std::string(enhanced);
  out.lines.assign(1, std::string(reply_text));
  return true;
}

}  // namespace sluice::smtp
