#include "queue/move_parameters.h"

#include <fmt/format.h>

#include <charconv>

#include "base/text.h"

namespace sluice::queue {

namespace {

constexpr char kHexDigits[] = "0123456789ABCDEF";

int xtext_hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool plain_xchar(unsigned char c) { return c >= 33 && c <= 126 && c != '+' && c != '='; }

Result<std::chrono::system_clock::time_point> move_time(std::string_view keyword, std::string_view value) {
  auto time = parse_utc_time(value);
  if (!time) return fail(fmt::format("{} must be a UTC time such as 2026-12-08T03:41:02Z", keyword));
  return *time;
}

}  // namespace

std::string xtext_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (plain_xchar(c)) {
      out += static_cast<char>(c);
    } else {
      out += '+';
      out += kHexDigits[c >> 4];
      out += kHexDigits[c & 0xF];
    }
  }
  return out;
}

std::optional<std::string> xtext_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = text[i];
    if (c == '+') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = xtext_hex_value(text[i + 1]), low = xtext_hex_value(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else if (plain_xchar(c)) {
      out += static_cast<char>(c);
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::string move_mail_parameters(const Envelope& envelope) {
  std::string out = fmt::format(" XMOVE-ARRIVED={} XMOVE-ID={}", format_utc_time(envelope.received), envelope.id);
  if (envelope.delay_warning_sent) out += " XMOVE-WARNED";
  if (envelope.requiretls) out += " XMOVE-REQUIRETLS";
  return out;
}

std::string move_recipient_parameters(const Recipient& recipient, std::size_t max_length) {
  std::string out = fmt::format(" XMOVE-STATE={} XMOVE-ATTEMPTS={}", state_name(recipient.state), recipient.attempts);
  if (recipient.last_attempt != std::chrono::system_clock::time_point{})
    out += " XMOVE-LAST=" + format_utc_time(recipient.last_attempt);
  if (recipient.next_attempt != std::chrono::system_clock::time_point{})
    out += " XMOVE-NEXT=" + format_utc_time(recipient.next_attempt);
  if (recipient.last_reply.empty()) return out;
  constexpr std::string_view kReply = " XMOVE-REPLY=";
  if (out.size() + kReply.size() >= max_length) return out;
  std::string reply = xtext_encode(recipient.last_reply.one_line());
  std::size_t room = max_length - out.size() - kReply.size();
  if (reply.size() > room) {
    // Cut before an escape that would not fit whole: "+4" alone is not xtext.
    std::size_t cut = room;
    if (cut >= 1 && reply[cut - 1] == '+')
      cut -= 1;
    else if (cut >= 2 && reply[cut - 2] == '+')
      cut -= 2;
    reply.resize(cut);
  }
  if (!reply.empty()) out += std::string(kReply) + reply;
  return out;
}

bool is_move_parameter(std::string_view keyword) {
  return keyword.size() > 6 && ascii_lower(keyword.substr(0, 6)) == "xmove-";
}

Result<void> read_move_mail_parameter(MovedMessage& moved, std::string_view keyword, std::string_view value) {
  const std::string key = ascii_lower(keyword);
  if (key == "xmove-arrived") {
    auto time = move_time("XMOVE-ARRIVED", value);
    if (!time) return fail(time.error());
    moved.received = *time;
  } else if (key == "xmove-id") {
    if (!valid_queue_id(value)) return fail("XMOVE-ID must be a queue id (1 to 64 letters and digits)");
    moved.original_id = std::string(value);
  } else if (key == "xmove-warned" && value.empty()) {
    moved.delay_warning_sent = true;
  } else if (key == "xmove-requiretls" && value.empty()) {
    moved.requiretls = true;
  } else {
    return fail(fmt::format("Unsupported MAIL parameter {}", keyword));
  }
  return {};
}

Result<void> check_moved_message(const MovedMessage& moved) {
  if (moved.received == std::chrono::system_clock::time_point{} || moved.original_id.empty())
    return fail("A moved message needs XMOVE-ARRIVED and XMOVE-ID");
  return {};
}

Result<void> read_move_recipient_parameter(MovedRecipient& moved, std::string_view keyword, std::string_view value) {
  const std::string key = ascii_lower(keyword);
  if (key == "xmove-state") {
    auto state = state_from_name(ascii_lower(value));
    // Only recipients still to be delivered are moved; the others stay where they were settled.
    if (!state || (*state != Recipient::State::Pending && *state != Recipient::State::Deferred))
      return fail("XMOVE-STATE must be pending or deferred");
    moved.state = *state;
  } else if (key == "xmove-attempts") {
    int attempts = -1;
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), attempts);
    if (error != std::errc() || end != value.data() + value.size() || attempts < 0 || attempts > 1'000'000)
      return fail("XMOVE-ATTEMPTS must be a number of attempts (0 to 1000000)");
    moved.attempts = attempts;
  } else if (key == "xmove-last" || key == "xmove-next") {
    auto time = move_time(key == "xmove-last" ? "XMOVE-LAST" : "XMOVE-NEXT", value);
    if (!time) return fail(time.error());
    (key == "xmove-last" ? moved.last_attempt : moved.next_attempt) = *time;
  } else if (key == "xmove-reply") {
    auto text = xtext_decode(value);
    if (!text) return fail("XMOVE-REPLY must be xtext (RFC 3461 4)");
    moved.last_reply = smtp::parse_reply_text(*text);
  } else {
    return fail(fmt::format("Unsupported RCPT parameter {}", keyword));
  }
  return {};
}

void apply_moved_message(Envelope& envelope, const MovedMessage& moved) {
  envelope.received = moved.received;
  envelope.moved_from = moved.original_id;
  envelope.delay_warning_sent = moved.delay_warning_sent;
  envelope.requiretls = envelope.requiretls || moved.requiretls;
}

void apply_moved_recipient(Recipient& recipient, const MovedRecipient& moved) {
  recipient.state = moved.state;
  recipient.attempts = moved.attempts;
  recipient.last_attempt = moved.last_attempt;
  recipient.next_attempt = moved.next_attempt;
  recipient.last_reply = moved.last_reply;
}

}  // namespace sluice::queue
