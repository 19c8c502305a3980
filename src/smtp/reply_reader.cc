#include "smtp/reply_reader.h"

#include "base/text.h"

namespace sluice::smtp {
namespace {

/// 1-3 digits starting at `pos`; returns how many (0 when none or more than 3).
std::size_t digit_run(std::string_view text, std::size_t pos) {
  std::size_t n = 0;
  while (pos + n < text.size() && is_ascii_digit(text[pos + n])) ++n;
  return n >= 1 && n <= 3 ? n : 0;
}

}  // namespace

std::size_t enhanced_code_length(std::string_view text) {
  if (text.size() < 5) return 0;  // "2.0.0" at the least
  if (text[0] != '2' && text[0] != '4' && text[0] != '5') return 0;
  if (text[1] != '.') return 0;
  std::size_t pos = 2;
  std::size_t subject = digit_run(text, pos);
  if (subject == 0) return 0;
  pos += subject;
  if (pos >= text.size() || text[pos] != '.') return 0;
  ++pos;
  std::size_t detail = digit_run(text, pos);
  if (detail == 0) return 0;
  pos += detail;
  // "2.0.0.1" or "2.0.0abc" is text that happens to start with digits, not a status code.
  if (pos < text.size() && text[pos] != ' ') return 0;
  return pos;
}

Result<ReplyLine> parse_reply_line(std::string_view line) {
  if (line.size() < 3) return fail("reply line shorter than a reply code");
  if (!is_ascii_digit(line[0]) || !is_ascii_digit(line[1]) || !is_ascii_digit(line[2]))
    return fail("reply line does not start with a three-digit code");
  if (line[0] < '2' || line[0] > '5') return fail("reply code outside 2xx-5xx");
  ReplyLine out;
  out.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (line.size() == 3) return out;
  if (line[3] != ' ' && line[3] != '-') return fail("reply code not followed by a space or '-'");
  out.continuation = line[3] == '-';
  std::string_view text = line.substr(4);
  if (std::size_t n = enhanced_code_length(text)) {
    out.enhanced = std::string(text.substr(0, n));
    text.remove_prefix(n);
    if (!text.empty()) text.remove_prefix(1);  // the space after the enhanced code
  }
  out.text = std::string(text);
  return out;
}

ReplyAssembler::Status ReplyAssembler::add(std::string_view line) {
  if (!error_.empty()) return Status::Error;
  auto parsed = parse_reply_line(line);
  if (!parsed) {
    error_ = parsed.error().message;
    return Status::Error;
  }
  if (lines_ == 0) {
    reply_.code = parsed->code;
    reply_.enhanced = parsed->enhanced;
  } else if (parsed->code != reply_.code) {
    error_ = "reply code changed within a multi-line reply";
    return Status::Error;
  }
  if (++lines_ > max_lines_) {
    error_ = "reply has too many lines";
    return Status::Error;
  }
  if (lines_ > 1 && parsed->enhanced != reply_.enhanced && !parsed->enhanced.empty())
    parsed->text = parsed->text.empty() ? parsed->enhanced : parsed->enhanced + " " + parsed->text;
  reply_.lines.push_back(std::move(parsed->text));
  return parsed->continuation ? Status::NeedMore : Status::Complete;
}

Reply ReplyAssembler::take() {
  Reply out = std::move(reply_);
  reset();
  return out;
}

void ReplyAssembler::reset() {
  reply_ = Reply{};
  lines_ = 0;
  error_.clear();
}

}  // namespace sluice::smtp
