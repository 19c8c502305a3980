// An SMTP reply: basic code, enhanced status code (RFC 3463) and text.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace sluice::smtp {

/// One reply, possibly multi-line. `enhanced` is empty only where RFC 2034 exempts it (the
/// greeting and the replies to EHLO/HELO); everywhere else every line carries it.
struct Reply {
  int code = 0;                    ///< 250, 451, ...
  std::string enhanced;            ///< "2.0.0", "5.7.3", or empty
  std::vector<std::string> lines;  ///< text of each line, without code and enhanced code

  /// No reply at all (nothing was said yet): code 0 and no text.
  bool empty() const { return code == 0 && lines.empty(); }
  bool positive() const { return code >= 200 && code < 400; }
  bool transient() const { return code >= 400 && code < 500; }
  bool permanent() const { return code >= 500; }

  /// Wire form: "250-2.0.0 first\r\n250 2.0.0 last\r\n".
  std::string wire() const;
  /// One line for logs: lines joined by a space, as Exchange's protocol log writes replies,
  /// e.g. "250 2.0.0 Queued as 08D7..." or "250-mx Hello 250-SIZE 100 250 STARTTLS" for EHLO.
  /// An empty reply gives "", a text without a code (code 0, see parse_reply_text) the text.
  std::string one_line() const;

  friend bool operator==(const Reply&, const Reply&) = default;
};

/// A single-line reply.
Reply make_reply(int code, std::string_view enhanced, std::string_view text);

/// The reply whose one_line() is `text` (as the spool and the control socket keep a recipient's
/// last reply): "ddd[ -][c.s.d ]text" gives its code, enhanced code and one line of text. A
/// multi-line reply comes back as one line. "" gives an empty reply; text that does not start
/// with a code is kept as the line of a reply with code 0. Never fails.
Reply parse_reply_text(std::string_view text);

/// Parses a configured reply such as "451 5.7.3 Must issue a STARTTLS command first".
/// Returns false unless `text` is "ddd c.s.d text" with a 4xx/5xx code and an enhanced class of 4 or 5
/// (the classes may differ: Exchange Online pairs 451 with 5.7.3).
bool parse_configured_reply(std::string_view text, Reply& out);

}  // namespace sluice::smtp
