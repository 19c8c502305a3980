// Postfix logs: syslog lines with a traditional ("Nov 27 07:00:01") or ISO 8601 stamp, and
// Postfix's own maillog_file lines (ISO 8601 with microseconds). smtpd sessions are rebuilt per
// host and process id from "connect from" to "disconnect from"; smtp (outbound) connections from
// "TLS connection established to" or the first delivery status to a relay.
#pragma once
#include <unordered_map>

#include "logscan/log_reader.h"

namespace sluice::logscan {

/// The parts of one syslog line; views into it.
struct SyslogLine {
  Millis time = kNoTime;
  std::string_view host, program, daemon, message;  ///< program "postfix/smtpd", daemon "smtpd"
  std::uint32_t pid = 0;
};

/// Parses the syslog frame; false when the stamp cannot be read (a malformed line). A line
/// with a good stamp but no "program[pid]: " gets an empty program (not ours, not malformed).
bool parse_syslog_line(std::string_view line, Millis reference_time, SyslogLine& out);

/// "TLSv1" -> Tls1_0 ... "TLSv1.3" -> Tls1_3; Plaintext for anything else.
TlsClass postfix_tls_version(std::string_view word);

/// "host[ip]" (or "host[ip]:port") at the start of `text`: the name and the address.
bool parse_host_ip(std::string_view text, std::string_view& host, std::string_view& ip);

class PostfixReader : public LogReader {
 public:
  explicit PostfixReader(ReadContext ctx) : ctx_(std::move(ctx)) {}
  bool line(std::string_view text, std::uint64_t number, bool truncated, bool may_continue) override;
  void finish() override;
  std::size_t open_sessions() const { return inbound_.size() + outbound_.size(); }

 private:
  void smtpd(const SyslogLine& l, std::string_view text, std::uint64_t number);
  void smtp(const SyslogLine& l, std::string_view text, std::uint64_t number);
  std::uint64_t key_of(const SyslogLine& l) { return std::uint64_t{ctx_.out->intern(l.host)} << 32 | l.pid; }
  Session& inbound_session(const SyslogLine& l, std::uint64_t key, std::string_view ip);
  void close_inbound(std::uint64_t key, const SyslogLine& l);
  void signatures(std::string_view message, Direction d, const SyslogLine& l, std::string_view remote,
                  std::string_view text, std::uint64_t number);

  struct Outbound {
    Session session;
    std::string last_queue_id;
  };
  ReadContext ctx_;
  std::unordered_map<std::uint64_t, Session> inbound_;
  std::unordered_map<std::uint64_t, Outbound> outbound_;
};

}  // namespace sluice::logscan
