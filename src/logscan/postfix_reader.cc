#include "logscan/postfix_reader.h"

#include <charconv>

#include "logscan/signatures.h"

namespace sluice::logscan {
namespace {

constexpr Millis kDay = 86'400'000;

int year_of(Millis t) {
  // days -> civil year (Hinnant), enough for the reference year.
  std::int64_t z = (t >= 0 ? t / kDay : (t - kDay + 1) / kDay) + 719468;
  std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  auto doe = static_cast<unsigned>(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  return static_cast<int>(yoe + era * 400 + (mp >= 10));
}

/// The number after "name=" in Postfix's disconnect statistics ("data=1/1" -> 1 for "data=").
std::uint32_t stat_ok(std::string_view message, std::string_view name) {
  auto at = message.find(name);
  if (at == std::string_view::npos) return 0;
  std::uint32_t v = 0;
  const char* p = message.data() + at + name.size();
  std::from_chars(p, message.data() + message.size(), v);
  return v;
}

}  // namespace

TlsClass postfix_tls_version(std::string_view w) {
  if (w == "TLSv1") return TlsClass::Tls1_0;
  if (w == "TLSv1.1") return TlsClass::Tls1_1;
  if (w == "TLSv1.2") return TlsClass::Tls1_2;
  if (w == "TLSv1.3") return TlsClass::Tls1_3;
  return TlsClass::Plaintext;
}

bool parse_host_ip(std::string_view text, std::string_view& host, std::string_view& ip) {
  auto open = text.find('[');
  if (open == std::string_view::npos || open == 0) return false;
  auto close = text.find(']', open);
  if (close == std::string_view::npos) return false;
  host = text.substr(0, open);
  ip = text.substr(open + 1, close - open - 1);
  if (ip.starts_with("IPv6:")) ip.remove_prefix(5);
  return host.find(' ') == std::string_view::npos;
}

bool parse_syslog_line(std::string_view line, Millis reference, SyslogLine& out) {
  out = SyslogLine{};
  std::size_t used = 0;
  if (!line.empty() && line[0] >= '0' && line[0] <= '9') {
    auto t = parse_iso8601(line, &used);
    if (!t) return false;
    out.time = *t;
  } else {
    int year = year_of(reference == kNoTime ? 0 : reference);
    auto t = parse_syslog_time(line, year);
    // Feb 29 of a year that has none, or a stamp after the file was written: the year before.
    if (!t || (reference != kNoTime && *t > reference + kDay)) t = parse_syslog_time(line, year - 1);
    if (!t) return false;
    out.time = *t;
    used = 15;
  }
  if (used >= line.size() || line[used] != ' ') return used == line.size();
  std::string_view rest = line.substr(used + 1);
  auto sp = rest.find(' ');
  if (sp == std::string_view::npos) return true;
  out.host = rest.substr(0, sp);
  rest = rest.substr(sp + 1);
  auto colon = rest.find(": ");
  if (colon == std::string_view::npos) return true;
  std::string_view tag = rest.substr(0, colon);
  if (tag.empty() || tag.back() != ']') return true;
  auto open = tag.rfind('[');
  if (open == std::string_view::npos) return true;
  std::string_view pid = tag.substr(open + 1, tag.size() - open - 2);
  auto [p, ec] = std::from_chars(pid.data(), pid.data() + pid.size(), out.pid);
  if (ec != std::errc() || p != pid.data() + pid.size()) return true;
  out.program = tag.substr(0, open);
  auto slash = out.program.rfind('/');
  out.daemon = slash == std::string_view::npos ? out.program : out.program.substr(slash + 1);
  out.message = rest.substr(colon + 2);
  return true;
}

bool PostfixReader::line(std::string_view text, std::uint64_t number, bool, bool) {
  // Comment lines (as in annotated excerpts) are not log lines, and not malformed ones either.
  if (text.empty() || text.front() == '#') return true;
  SyslogLine l;
  if (!parse_syslog_line(text, ctx_.reference_time, l)) {
    malformed(ctx_, number, text);
    return true;
  }
  if (l.daemon == "smtpd")
    smtpd(l, text, number);
  else if (l.daemon == "smtp")
    smtp(l, text, number);
  return true;
}

void PostfixReader::signatures(std::string_view message, Direction d, const SyslogLine& l, std::string_view remote,
                               std::string_view text, std::uint64_t number) {
  Signatures sig = find_signatures(message);
  for (std::size_t i = 0; i < sig.count; ++i)
    ctx_.out->failure(sig.found[i], d, l.program, remote, l.time, ctx_.file, number, text);
}

Session& PostfixReader::inbound_session(const SyslogLine& l, std::uint64_t key, std::string_view ip) {
  auto [it, inserted] = inbound_.try_emplace(key);
  Session& s = it->second;
  if (inserted) {
    s.direction = Direction::Inbound;
    s.connector = ctx_.out->intern(l.program);
    s.remote = ctx_.out->intern(ip);
    s.touch(l.time);
  }
  return s;
}

void PostfixReader::close_inbound(std::uint64_t key, const SyslogLine& l) {
  auto it = inbound_.find(key);
  if (it == inbound_.end()) return;
  Session& s = it->second;
  if (s.saw_start && s.saw_end)
    ctx_.out->finish(s);
  else
    ctx_.out->keep_partial("P" + std::string(l.host) + "/" + std::to_string(l.pid), ctx_.order, s);
  inbound_.erase(it);
}

void PostfixReader::smtpd(const SyslogLine& l, std::string_view text, std::uint64_t number) {
  std::string_view m = l.message;
  std::uint64_t key = key_of(l);
  std::string_view host, ip;
  if (m.starts_with("connect from ")) {
    if (!parse_host_ip(m.substr(13), host, ip)) return;
    if (inbound_.count(key)) close_inbound(key, l);  // its disconnect was never logged
    Session& s = inbound_session(l, key, ip);
    s.saw_start = true;
    return;
  }
  if (m.starts_with("disconnect from ")) {
    if (!parse_host_ip(m.substr(16), host, ip)) return;
    Session& s = inbound_session(l, key, ip);
    s.messages += stat_ok(m, " data=") + stat_ok(m, " bdat=");
    s.saw_end = true;
    signatures(m, Direction::Inbound, l, ip, text, number);
    if (m.find(" starttls=") != std::string_view::npos && find_signatures(m).count) s.tls_failed = true;
    close_inbound(key, l);
    return;
  }
  auto est = m.find(" TLS connection established from ");
  if (est != std::string_view::npos) {
    std::string_view rest = m.substr(est + 33);
    if (!parse_host_ip(rest, host, ip)) return;
    Session& s = inbound_session(l, key, ip);
    auto colon = rest.find("]: ");
    if (colon != std::string_view::npos) {
      std::string_view v = rest.substr(colon + 3);
      v = v.substr(0, v.find(' '));
      s.tls = postfix_tls_version(v);
    }
    return;
  }
  // Everything else that names the client: failures, rejections with helo=<...>.
  auto from = m.find(" from ");
  std::string_view remote;
  Session* s = nullptr;
  if (from != std::string_view::npos && parse_host_ip(m.substr(from + 6), host, ip)) {
    remote = ip;
    if (m.starts_with("SSL_accept error") || m.starts_with("lost connection after STARTTLS") || inbound_.count(key)) {
      s = &inbound_session(l, key, ip);
    }
  } else if (auto it = inbound_.find(key); it != inbound_.end()) {
    s = &it->second;
    remote = ctx_.out->text(s->remote);
  }
  if (s) {
    if (m.starts_with("SSL_accept error") || m.starts_with("lost connection after STARTTLS")) s->tls_failed = true;
    auto helo = m.find(" helo=<");
    if (helo != std::string_view::npos) {
      std::string_view name = m.substr(helo + 7);
      name = name.substr(0, name.find('>'));
      if (!name.empty()) s->name = ctx_.out->intern(name);
    }
  }
  signatures(m, Direction::Inbound, l, remote, text, number);
}

void PostfixReader::smtp(const SyslogLine& l, std::string_view text, std::uint64_t number) {
  std::string_view m = l.message;
  std::uint64_t key = key_of(l);
  std::string_view host, ip;
  auto start = [&](std::string_view h, std::string_view addr) -> Outbound& {
    auto it = outbound_.find(key);
    if (it != outbound_.end()) {
      ctx_.out->finish(it->second.session);
      outbound_.erase(it);
    }
    Outbound& o = outbound_[key];
    o.session.direction = Direction::Outbound;
    o.session.connector = ctx_.out->intern(l.program);
    o.session.remote = ctx_.out->intern(addr);
    o.session.name = ctx_.out->intern(h);
    o.session.saw_start = o.session.saw_end = true;
    o.session.touch(l.time);
    return o;
  };
  auto est = m.find(" TLS connection established to ");
  if (est != std::string_view::npos) {
    std::string_view rest = m.substr(est + 31);
    if (!parse_host_ip(rest, host, ip)) return;
    Outbound& o = start(host, ip);
    auto colon = rest.find(": ");
    if (colon != std::string_view::npos) {
      std::string_view v = rest.substr(colon + 2);
      o.session.tls = postfix_tls_version(v.substr(0, v.find(' ')));
    }
    return;
  }
  if (m.starts_with("SSL_connect error to ")) {
    if (!parse_host_ip(m.substr(21), host, ip)) return;
    Outbound& o = start(host, ip);
    o.session.tls_failed = true;
    signatures(m, Direction::Outbound, l, ip, text, number);
    return;
  }
  auto relay = m.find(", relay=");
  if (relay != std::string_view::npos && parse_host_ip(m.substr(relay + 8), host, ip)) {
    std::string_view queue_id = m.substr(0, m.find(':'));
    auto it = outbound_.find(key);
    Outbound* o = it != outbound_.end() && ctx_.out->text(it->second.session.remote) == ip ? &it->second : nullptr;
    if (!o) o = &start(host, ip);
    if (m.find(", status=sent ") != std::string_view::npos && o->last_queue_id != queue_id) {
      ++o->session.messages;
      o->last_queue_id = queue_id;
    }
    signatures(m, Direction::Outbound, l, ip, text, number);
    return;
  }
  auto it = outbound_.find(key);
  signatures(m, Direction::Outbound, l, it != outbound_.end() ? ctx_.out->text(it->second.session.remote) : "", text,
             number);
}

void PostfixReader::finish() {
  for (auto& [key, o] : outbound_) ctx_.out->finish(o.session);
  outbound_.clear();
  for (auto& [key, s] : inbound_) {
    std::string host(ctx_.out->text(static_cast<std::uint32_t>(key >> 32)));
    ctx_.out->keep_partial("P" + host + "/" + std::to_string(key & 0xffffffffu), ctx_.order, s);
  }
  inbound_.clear();
}

}  // namespace sluice::logscan
