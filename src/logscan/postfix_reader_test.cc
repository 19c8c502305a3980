#include "logscan/postfix_reader.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "logscan/test_support.h"
#include "base/temp_dir_test_util.h"

namespace sluice::logscan {
namespace {

using testing::Harness;

constexpr Millis kRef2026 = 1795000000000;  // 2026-11-19, a reference time in the year of the samples

using sluice::test_util::slurp;

TEST(PostfixReader, SyslogFrameTraditionalAndIso) {
  SyslogLine l;
  ASSERT_TRUE(parse_syslog_line("Nov 27 02:10:11 vm postfix/smtpd[4101]: connect from a[1.2.3.4]",
                                kRef2026 + 30 * 86400000LL, l));
  EXPECT_EQ(l.host, "vm");
  EXPECT_EQ(l.program, "postfix/smtpd");
  EXPECT_EQ(l.daemon, "smtpd");
  EXPECT_EQ(l.pid, 4101u);
  EXPECT_EQ(l.message, "connect from a[1.2.3.4]");
  EXPECT_EQ(format_iso(l.time), "2026-11-27T02:10:11.000Z");

  ASSERT_TRUE(parse_syslog_line("2026-11-27T07:00:01.123456+00:00 mx postfix/submission/smtpd[123]: x", kNoTime, l));
  EXPECT_EQ(l.daemon, "smtpd");
  EXPECT_EQ(l.program, "postfix/submission/smtpd");
  EXPECT_EQ(format_iso(l.time), "2026-11-27T07:00:01.123Z");

  // A stamp later than the file's time belongs to the year before (a log read in January).
  ASSERT_TRUE(parse_syslog_line("Dec 31 23:00:00 vm postfix/smtp[1]: x", 1767312000000 /* 2026-01-02 */, l));
  EXPECT_EQ(format_iso(l.time), "2025-12-31T23:00:00.000Z");

  // Not a postfix line, but a good syslog line: no program, not malformed.
  ASSERT_TRUE(parse_syslog_line("Nov 27 02:10:11 vm kernel: something", kRef2026, l));
  EXPECT_TRUE(l.program.empty());
  EXPECT_FALSE(parse_syslog_line("garbage line", kRef2026, l));
  EXPECT_FALSE(parse_syslog_line("Nov 32 02:10:11 vm x[1]: y", kRef2026, l));
}

TEST(PostfixReader, EveryPublishedSampleLine) {
  Harness h;
  PostfixReader reader(h.context("pf", kRef2026 + 30 * 86400000LL));
  h.feed(reader, slurp(testing::data_dir() / "postfix-tls-log-lines.txt"));
  h.done(reader);
  EXPECT_EQ(h.stats.malformed, 0u);
  const PeerStats* p = h.peer(Direction::Inbound, "postfix/smtpd", "127.0.0.1");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->sessions[1], 1u);  // TLSv1 (pid 4101)
  EXPECT_EQ(p->sessions[2], 1u);  // TLSv1.1 (pid 4103)
  EXPECT_EQ(p->sessions[5], 1u);  // the failed handshake (pid 4110)
  for (auto sig : {"SSL_accept error", "lost connection after STARTTLS", "starttls=0/1"}) {
    const FailureStats* f = h.failure(sig, Direction::Inbound, "127.0.0.1");
    ASSERT_NE(f, nullptr) << sig;
    EXPECT_EQ(f->count, 1u);
    EXPECT_EQ(format_iso(f->first), "2026-11-27T02:10:15.000Z");
  }
  EXPECT_EQ(h.failure("SSL_accept error", Direction::Inbound, "127.0.0.1")->example.line, 6u);
}

TEST(PostfixReader, SessionFromConnectToDisconnectWithMessagesAndHelo) {
  Harness h;
  PostfixReader reader(h.context());
  std::string text =
      "2026-11-27T07:00:00.000001+00:00 mx postfix/smtpd[10]: connect from client.test[192.0.2.7]\n"
      "2026-11-27T07:00:00.100000+00:00 mx postfix/smtpd[11]: connect from other.test[192.0.2.8]\n"
      "2026-11-27T07:00:00.200000+00:00 mx postfix/smtpd[10]: Anonymous TLS connection established from "
      "client.test[192.0.2.7]: TLSv1 with cipher ECDHE-RSA-AES256-SHA (256/256 bits)\n"
      "2026-11-27T07:00:00.300000+00:00 mx postfix/smtpd[10]: 4ABC: client=client.test[192.0.2.7]\n"
      "2026-11-27T07:00:00.400000+00:00 mx postfix/smtpd[11]: NOQUEUE: reject: MAIL from other.test[192.0.2.8]: 530 "
      "5.7.0 Must issue a STARTTLS command first; from=<a@b> proto=ESMTP helo=<other-helo.test>\n"
      "2026-11-27T07:00:00.500000+00:00 mx postfix/smtpd[10]: disconnect from client.test[192.0.2.7] ehlo=2 "
      "starttls=1 mail=2 rcpt=2 data=2 quit=1 commands=10\n"
      "2026-11-27T07:00:00.600000+00:00 mx postfix/smtpd[11]: disconnect from other.test[192.0.2.8] ehlo=1 "
      "mail=0/1 commands=1/2\n";
  h.feed(reader, text, 9);
  EXPECT_EQ(reader.open_sessions(), 0u);
  h.done(reader);
  const PeerStats* a = h.peer(Direction::Inbound, "postfix/smtpd", "192.0.2.7");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->sessions[1], 1u);
  EXPECT_EQ(a->messages, 2u);
  EXPECT_EQ(a->legacy_messages, 2u);
  const PeerStats* b = h.peer(Direction::Inbound, "postfix/smtpd", "192.0.2.8");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->sessions[0], 1u);
  EXPECT_EQ(b->names, std::vector<std::string>{"other-helo.test"});
  const FailureStats* f = h.failure("530 5.7.0 Must issue a STARTTLS command first", Direction::Inbound, "192.0.2.8");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->example.line, 5u);
}

TEST(PostfixReader, OutboundConnectionsAndDeliveries) {
  Harness h;
  PostfixReader reader(h.context());
  std::string text =
      "2026-11-27T07:00:00+00:00 mx postfix/smtp[20]: Untrusted TLS connection established to "
      "mx.partner.test[198.51.100.1]:25: TLSv1.1 with cipher ECDHE-RSA-AES256-SHA (256/256 bits)\n"
      "2026-11-27T07:00:01+00:00 mx postfix/smtp[20]: 5DEF: to=<a@partner.test>, relay=mx.partner.test"
      "[198.51.100.1]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)\n"
      "2026-11-27T07:00:01+00:00 mx postfix/smtp[20]: 5DEF: to=<b@partner.test>, relay=mx.partner.test"
      "[198.51.100.1]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)\n"
      "2026-11-27T07:00:02+00:00 mx postfix/smtp[21]: 6AAA: to=<c@strict.test>, relay=mx.strict.test"
      "[198.51.100.2]:25, delay=1, delays=0/0/0.5/0.5, dsn=4.7.0, status=deferred (host mx.strict.test"
      "[198.51.100.2] said: 530 5.7.0 Must issue a STARTTLS command first (in reply to MAIL FROM command))\n";
  h.feed(reader, text);
  h.done(reader);
  const PeerStats* p = h.peer(Direction::Outbound, "postfix/smtp", "198.51.100.1");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->sessions[2], 1u);
  EXPECT_EQ(p->messages, 1u);  // one message, two recipients
  EXPECT_EQ(p->names, std::vector<std::string>{"mx.partner.test"});
  const PeerStats* q = h.peer(Direction::Outbound, "postfix/smtp", "198.51.100.2");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->sessions[0], 1u);
  EXPECT_EQ(q->messages, 0u);
  ASSERT_NE(h.failure("530 5.7.0 Must issue a STARTTLS command first", Direction::Outbound, "198.51.100.2"), nullptr);
}

TEST(PostfixReader, MalformedLinesAndForeignPrograms) {
  Harness h;
  PostfixReader reader(h.context("x", kRef2026));
  h.feed(reader, "Nov 27 02:10:11 vm kernel: hello\nnot a syslog line\nNov 27 02:10:11 vm cron[5]: job\n");
  h.done(reader);
  EXPECT_EQ(h.stats.malformed, 1u);
  ASSERT_EQ(h.aggregate.malformed_examples.size(), 1u);
  EXPECT_EQ(h.aggregate.malformed_examples[0].line, 2u);
  EXPECT_TRUE(h.aggregate.peers.empty());
}

TEST(PostfixReader, VersionWords) {
  EXPECT_EQ(postfix_tls_version("TLSv1"), TlsClass::Tls1_0);
  EXPECT_EQ(postfix_tls_version("TLSv1.3"), TlsClass::Tls1_3);
  EXPECT_EQ(postfix_tls_version("SSLv3"), TlsClass::Plaintext);
  std::string_view host, ip;
  ASSERT_TRUE(parse_host_ip("unknown[IPv6:2001:db8::1]:25 rest", host, ip));
  EXPECT_EQ(host, "unknown");
  EXPECT_EQ(ip, "2001:db8::1");
  EXPECT_FALSE(parse_host_ip("[1.2.3.4]", host, ip));
}

}  // namespace
}  // namespace sluice::logscan
