#include "queue/dsn.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>
#include <string_view>

#include "base/base64.h"
#include "base/utf8.h"
#include "smtp/message_headers.h"

namespace sluice::queue {
namespace {

using std::chrono::system_clock;

constexpr std::size_t kMaxHeaderBlock = 64 * 1024;
constexpr std::size_t kMaxFieldText = 900;  // well below SMTP's 998-octet line limit
constexpr std::size_t kMaxSubject = 200;
constexpr std::string_view kCrlf = "\r\n";

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Remote or configured text as one safe 7-bit line: control characters (CR and LF above all,
// which could start new fields) become one space, other bytes '?', at most `max` characters.
std::string one_line(std::string_view text, std::size_t max = kMaxFieldText) {
  std::string out;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += byte < 0x80 ? c : '?';
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > max) out = out.substr(0, max - 3) + "...";
  return out;
}

// For the human-readable part: like one_line, but valid UTF-8 stays readable.
std::string readable(std::string_view text) {
  if (is_ascii(text) || !is_valid_utf8(text)) return one_line(text);
  std::string out;
  for (char c : text) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) ? ' ' : c;
  return out.size() > kMaxFieldText ? one_line(text) : out;
}

// Only characters that are safe in a Message-ID, a boundary and a host name.
std::string token(std::string_view text, std::string_view extra, std::size_t max) {
  std::string out;
  for (char c : text) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              extra.find(c) != std::string_view::npos;
    if (ok && out.size() < max) out += c;
  }
  return out;
}

// RFC 5322 date-time in UTC: "Wed, 01 May 2024 12:34:56 +0000".
std::string rfc5322_date(system_clock::time_point time) {
  using namespace std::chrono;
  static constexpr std::array<const char*, 7> kDays{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto secs = floor<seconds>(time);
  auto day = floor<days>(secs);
  year_month_day date{day};
  hh_mm_ss clock{secs - day};
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000", kDays[weekday{day}.c_encoding()],
                     unsigned(date.day()), kMonths[unsigned(date.month()) - 1], int(date.year()), clock.hours().count(),
                     clock.minutes().count(), clock.seconds().count());
}

// "rfc822; addr" for ASCII addresses; RFC 6533's "utf-8; " with \x{HEX} escapes otherwise
// (message/delivery-status stays 7-bit).
std::string address_field(std::string_view address) {
  auto points = is_ascii(address) ? std::nullopt : decode_utf8(address);
  if (!points) return "rfc822; " + one_line(address);
  std::string out = "utf-8; ";
  for (char32_t point : *points) {
    bool plain = point > 0x20 && point < 0x7F && point != '+' && point != '=' && point != '\\';
    if (plain) {
      out += static_cast<char>(point);
    } else {
      out += fmt::format("\\x{{{:X}}}", static_cast<std::uint32_t>(point));
    }
  }
  return one_line(out);
}

// The original header block: lines up to the first empty one, CRLF line ends, capped at a line
// boundary. A bare CR inside a line becomes a space: it would end the line for some readers.
std::string header_block(std::string_view message) {
  std::string out;
  std::size_t pos = 0;
  while (pos < message.size()) {
    std::size_t end = message.find('\n', pos);
    if (end == std::string_view::npos) end = message.size();
    std::string_view line = message.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    if (out.size() + line.size() + 2 > kMaxHeaderBlock) break;
    for (char c : line) out += c == '\r' ? ' ' : c;
    out += kCrlf;
    pos = end + 1;
  }
  return out;
}

// Header text with its leading white space: ASCII as it is (already-encoded words included),
// UTF-8 as RFC 2047 encoded words of at most 75 characters, each on a line of its own; anything
// else made 7-bit. Cut at about kMaxSubject octets.
std::string header_text(std::string_view text) {
  if (is_ascii(text) || !is_valid_utf8(text)) return " " + one_line(text, kMaxSubject);
  std::string clean;
  for (char c : text) clean += (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) ? ' ' : c;
  std::string out;
  std::size_t pos = 0;
  while (pos < clean.size() && pos < kMaxSubject) {
    // 45 octets make 60 base64 characters: with "=?UTF-8?B?" and "?=", 72 in all. Never split
    // a character: back up over continuation bytes.
    std::size_t end = std::min(pos + 45, clean.size());
    while (end < clean.size() && end > pos && (static_cast<unsigned char>(clean[end]) & 0xC0) == 0x80) --end;
    out += "\r\n =?UTF-8?B?" + base64_encode(std::string_view(clean).substr(pos, end - pos)) + "?=";
    pos = end;
  }
  return out;
}

// The plain-words reason for the failures this project is about, by a text the diagnostic
// contains; the first match wins.
struct Explanation {
  std::string_view needle;
  std::string_view text;
};

constexpr std::string_view kTlsVersionMismatch =
    "The receiving server and this gateway could not agree on a TLS version: the remote "
    "server most likely accepts only TLS 1.2 or later, or only older versions. Enable TLS "
    "1.2 on the older side (see the SCHANNEL keys in Microsoft's guidance) and retry. If "
    "this gateway's send connector uses the \"legacy\" TLS policy, set its min_version to "
    "\"1.2\".";

constexpr Explanation kExplanations[] = {
    // RFC 8689's two refusals (outbound/requiretls.h) first: their text may quote a TLS failure.
    {"5.7.30",
     "The message was sent with REQUIRETLS (RFC 8689): it may travel only to servers that "
     "promise to keep that requirement on its way. The receiving server does not offer "
     "REQUIRETLS, so the message was not sent to it. Send it again without REQUIRETLS, or "
     "ask the recipient's administrator to support REQUIRETLS."},
    {"5.7.10 REQUIRETLS",
     "The message was sent with REQUIRETLS (RFC 8689): it may travel only over TLS to a "
     "server whose certificate is authenticated (DANE, MTA-STS, or a send connector that "
     "verifies certificates). No such connection to the recipient's server could be made, "
     "so the message was not sent. Send it again without REQUIRETLS, or ask the recipient's "
     "administrator to publish DANE or MTA-STS."},
    {"4.4.2 Connection dropped due to SocketError", kTlsVersionMismatch},
    {"TLS negotiation failed", kTlsVersionMismatch},
    // 451 5.7.3 (Exchange Online), 530 5.7.0 (RFC 3207, Postfix): the same refusal.
    {"Must issue a STARTTLS command first",
     "The receiving server requires an encrypted connection (STARTTLS) from this sender, and "
     "the connection was not encrypted. This usually follows a failed TLS handshake, after "
     "which the message was retried without encryption. Make TLS work between the two "
     "servers (typically by enabling TLS 1.2 on the sending side) rather than dropping the "
     "requirement."},
    {"4.4.317",
     "This gateway's send connector requires TLS for this destination, but the receiving "
     "server did not offer STARTTLS or the TLS connection could not be established. Enable "
     "STARTTLS with TLS 1.2 or later on the receiving server, or check the connector's tls "
     "setting if encryption is not actually required."},
};

// Empty for any failure not in the table.
std::string_view explanation(std::string_view diagnostic) {
  for (const Explanation& e : kExplanations)
    if (diagnostic.find(e.needle) != std::string_view::npos) return e.text;
  return {};
}

// Word-wraps a paragraph to `width` columns, each line starting with `indent`.
std::string wrap(std::string_view text, std::size_t width, std::string_view indent) {
  std::string out;
  std::string line(indent);
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(pos, end - pos);
    if (line.size() > indent.size() && line.size() + 1 + word.size() > width) {
      out += line + std::string(kCrlf);
      line = indent;
    }
    if (line.size() > indent.size()) line += ' ';
    line += word;
    pos = end + 1;
  }
  if (line.size() > indent.size()) out += line + std::string(kCrlf);
  return out;
}

bool valid_status(std::string_view status) {
  // class "." subject "." detail, RFC 3463: [245].1*3digit.1*3digit
  if (status.size() < 5 || (status[0] != '2' && status[0] != '4' && status[0] != '5') || status[1] != '.') {
    return false;
  }
  int dots = 0;
  std::size_t run = 0;
  for (std::size_t i = 2; i < status.size(); ++i) {
    if (status[i] == '.') {
      if (run == 0 || ++dots > 1) return false;
      run = 0;
    } else if (status[i] >= '0' && status[i] <= '9' && run < 3) {
      ++run;
    } else {
      return false;
    }
  }
  return dots == 1 && run > 0;
}

std::string action_of(const DsnRecipient& recipient, bool delay_warning) {
  for (std::string_view known : {"failed", "delayed", "delivered", "relayed", "expanded"}) {
    if (recipient.action == known) return recipient.action;
  }
  return delay_warning ? "delayed" : "failed";
}

std::string status_of(const DsnRecipient& recipient, std::string_view action) {
  if (valid_status(recipient.status)) return recipient.status;
  return action == "delayed" ? "4.0.0" : "5.0.0";
}

std::string human_part(const DsnInput& input, const std::string& mta) {
  std::string text = fmt::format("This is the mail system at host {}.\r\n\r\n", mta);
  if (input.delay_warning) {
    text += "Delivery of your message to the recipients below has been delayed.\r\n";
    text += input.retry_until == system_clock::time_point{}
                ? std::string("This is a warning only; delivery will be retried.\r\n")
                : fmt::format("This is a warning only; delivery will be retried until {}.\r\n",
                              rfc5322_date(input.retry_until));
    text += "You do not need to send the message again.\r\n";
  } else {
    text +=
        "Your message could not be delivered to one or more recipients.\r\n"
        "Its headers are attached to this report.\r\n";
  }
  std::vector<std::string_view> reasons;
  for (const auto& recipient : input.recipients) {
    std::string action = action_of(recipient, input.delay_warning);
    std::string what = action == "failed" ? "delivery failed" : action == "delayed" ? "delivery delayed" : action;
    text += fmt::format("\r\n<{}>: {}\r\n", readable(recipient.address), what);
    if (!recipient.remote_mta.empty()) text += fmt::format("    Remote server: {}\r\n", one_line(recipient.remote_mta));
    if (!recipient.diagnostic.empty()) text += fmt::format("    Reason: {}\r\n", one_line(recipient.diagnostic));
    auto reason = explanation(recipient.diagnostic);
    if (!reason.empty() && std::find(reasons.begin(), reasons.end(), reason) == reasons.end()) {
      reasons.push_back(reason);
    }
  }
  if (!reasons.empty()) {
    text += "\r\nWhat this means:\r\n";
    for (std::size_t i = 0; i < reasons.size(); ++i) {
      if (i > 0) text += kCrlf;
      text += wrap(reasons[i], 72, "    ");
    }
  }
  return text;
}

std::string status_part(const DsnInput& input, const std::string& mta) {
  const Envelope& original = *input.original;
  std::string text = fmt::format("Reporting-MTA: dns; {}\r\n", mta);
  if (valid_queue_id(original.id)) text += fmt::format("X-Sluice-Queue-ID: {}\r\n", original.id);
  text += fmt::format("Arrival-Date: {}\r\n", rfc5322_date(original.received));
  for (const auto& recipient : input.recipients) {
    std::string action = action_of(recipient, input.delay_warning);
    text += kCrlf;
    text += fmt::format("Final-Recipient: {}\r\n", address_field(recipient.address));
    text += fmt::format("Action: {}\r\n", action);
    text += fmt::format("Status: {}\r\n", status_of(recipient, action));
    if (!recipient.remote_mta.empty()) text += fmt::format("Remote-MTA: dns; {}\r\n", one_line(recipient.remote_mta));
    if (!recipient.diagnostic.empty()) {
      text += fmt::format("Diagnostic-Code: smtp; {}\r\n", one_line(recipient.diagnostic));
    }
    if (recipient.last_attempt != system_clock::time_point{}) {
      text += fmt::format("Last-Attempt-Date: {}\r\n", rfc5322_date(recipient.last_attempt));
    }
    if (action == "delayed" && input.retry_until != system_clock::time_point{}) {
      text += fmt::format("Will-Retry-Until: {}\r\n", rfc5322_date(input.retry_until));
    }
  }
  return text;
}

}  // namespace

bool should_bounce(const Envelope& original) { return !original.mail_from.empty(); }

std::string build_dsn(const DsnInput& input) {
  if (input.original == nullptr) throw std::invalid_argument("build_dsn: no original envelope");
  const Envelope& original = *input.original;
  if (!should_bounce(original)) {
    throw std::invalid_argument("build_dsn: the original has the null sender; it must not be bounced");
  }
  if (input.recipients.empty()) throw std::invalid_argument("build_dsn: no recipients to report");
  const std::string mta = token(input.reporting_mta, "-.", 253);
  if (mta.empty()) throw std::invalid_argument("build_dsn: reporting_mta is empty or not a host name");
  const std::string seed = token(input.message_id_seed, "-._", 64);
  if (seed.empty()) throw std::invalid_argument("build_dsn: message_id_seed is empty or unusable");

  const std::string human = human_part(input, mta);
  const std::string status = status_part(input, mta);
  const std::string headers = header_block(input.original_message);
  // The original's headers are the only text here that may be 8-bit; they are included as they
  // are (rewriting them would misreport the message), so that part is "8bit" and the DSN needs
  // 8BITMIME to travel, which dsn_envelope() declares.
  const bool human_8bit = !is_ascii(human);
  const bool headers_8bit = !is_ascii(headers);

  std::string boundary = "=_sluice_report_" + seed.substr(0, 40);
  const std::string preamble = "This is a MIME-encapsulated message.\r\n";
  auto occurs = [&](const std::string& b) {
    return human.find(b) != std::string::npos || status.find(b) != std::string::npos ||
           headers.find(b) != std::string::npos;
  };
  for (int n = 1; occurs(boundary); ++n) boundary = fmt::format("=_sluice_report_{}.{}", seed.substr(0, 40), n);

  std::string subject = smtp::header_value(headers, "Subject");
  subject = subject.empty() ? " (no subject)" : header_text(subject);
  std::string out;
  out += fmt::format("Date: {}\r\n", rfc5322_date(input.now));
  out += fmt::format("From: Mail Delivery System <MAILER-DAEMON@{}>\r\n", mta);
  out += fmt::format("To: <{}>\r\n", readable(original.mail_from));
  out += fmt::format("Subject: {}{}\r\n", input.delay_warning ? "Delivery delayed:" : "Undeliverable:", subject);
  out += fmt::format("Message-ID: <{}@{}>\r\n", seed, mta);
  out += "MIME-Version: 1.0\r\n";
  out += "Auto-Submitted: auto-replied\r\n";  // RFC 3834: no automatic answers to this
  out += fmt::format("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{}\"\r\n", boundary);
  if (human_8bit || headers_8bit) out += "Content-Transfer-Encoding: 8bit\r\n";
  out += kCrlf;
  out += preamble;

  out += fmt::format("\r\n--{}\r\n", boundary);
  out += fmt::format(
      "Content-Description: Notification\r\nContent-Type: text/plain; charset={}\r\n"
      "Content-Transfer-Encoding: {}\r\n\r\n",
      human_8bit ? "utf-8" : "us-ascii", human_8bit ? "8bit" : "7bit");
  out += human;

  out += fmt::format("\r\n--{}\r\n", boundary);
  out += "Content-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n";
  out += status;

  out += fmt::format("\r\n--{}\r\n", boundary);
  out += fmt::format(
      "Content-Description: Original message headers\r\nContent-Type: text/rfc822-headers\r\n"
      "Content-Transfer-Encoding: {}\r\n\r\n",
      headers_8bit ? "8bit" : "7bit");
  out += headers;
  out += fmt::format("\r\n--{}--\r\n", boundary);
  return out;
}

Envelope dsn_envelope(const std::string& id, const Envelope& original, std::uint64_t size,
                      system_clock::time_point now) {
  if (!valid_queue_id(id)) throw std::invalid_argument("dsn_envelope: \"" + one_line(id) + "\" is not a queue id");
  if (!should_bounce(original)) {
    throw std::invalid_argument("dsn_envelope: the original has the null sender; it must not be bounced");
  }
  Envelope envelope;
  envelope.id = id;
  envelope.mail_from = "";  // RFC 5321 4.5.5: notifications use the null reverse-path
  Recipient recipient;
  recipient.address = original.mail_from;
  envelope.recipients.push_back(std::move(recipient));
  envelope.body_type = "8BITMIME";
  envelope.smtputf8 = !is_ascii(original.mail_from);
  // RFC 8689 5: the notice of a REQUIRETLS message is protected as the message was (it carries
  // the message's headers); it goes with REQUIRETLS too, which its null sender lets it drop
  // where the way back does not offer it.
  envelope.requiretls = original.requiretls;
  envelope.size = size;
  envelope.received = now;
  envelope.connector = "DSN";
  return envelope;
}

}  // namespace sluice::queue
