#include "logscan/exchange_protocol_reader.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "logscan/test_support.h"
#include "protocol_log/protocol_log.h"
#include "base/temp_dir_test_util.h"

namespace sluice::logscan {
namespace {

using testing::Harness;

using sluice::test_util::slurp;

/// A receive-log session written by sluice's own writer (the format contract).
std::string session_text(std::string id, std::string remote, const std::string& version_line, int messages,
                         const std::string& ehlo = "mail.example.com", int start_second = 0) {
  using namespace std::chrono;
  auto t = sys_days{2026y / 11 / 27} + 7h + seconds{start_second};
  std::string out;
  int seq = 0;
  auto line = [&](protocol_log::Event e, std::string data, std::string context = "") {
    protocol_log::Line l{
        t, "Default Frontend", id, seq++, "10.0.0.1:25", remote, e, std::move(data), std::move(context)};
    out += protocol_log::format_line(l);
  };
  line(protocol_log::Event::Connect, "");
  line(protocol_log::Event::Sent, "220 mx ESMTP");
  line(protocol_log::Event::Received, "EHLO " + ehlo);
  line(protocol_log::Event::Received, "STARTTLS");
  line(protocol_log::Event::Sent, "220 2.0.0 SMTP server ready");
  if (!version_line.empty()) line(protocol_log::Event::Info, "", version_line);
  for (int i = 0; i < messages; ++i) {
    line(protocol_log::Event::Received, "MAIL FROM:<a@b>");
    line(protocol_log::Event::Sent, "250 2.1.0 Sender OK");
    line(protocol_log::Event::Received, "DATA");
    line(protocol_log::Event::Sent, "354 Start mail input; end with <CRLF>.<CRLF>");
    line(protocol_log::Event::Sent, "250 2.6.0 X Queued mail for delivery");
  }
  line(protocol_log::Event::Disconnect, "", "Remote");
  return out;
}

const std::string kTls10 =
    "TLS protocol SP_PROT_TLS1_0_SERVER negotiation succeeded using bulk encryption algorithm CALG_AES_256 with "
    "strength 256 bits, MAC hash algorithm CALG_SHA1 with strength 160 bits and key exchange algorithm CALG_ECDHE "
    "with strength 256 bits";
const std::string kTls13 =
    "TLS protocol SP_PROT_TLS1_3_SERVER negotiation succeeded using bulk encryption algorithm CALG_AES_256 with "
    "strength 256 bits, MAC hash algorithm CALG_SHA_384 with strength 0 bits and key exchange algorithm "
    "CALG_ECDH_EPHEM with strength 256 bits";

std::string receive_header() {
  return protocol_log::header_lines(protocol_log::Direction::Receive, std::chrono::system_clock::time_point{});
}

TEST(ExchangeProtocolReader, EveryPublishedSampleLineParses) {
  Harness h;
  Header header;
  ExchangeProtocolReader reader(h.context("samples"), header, std::nullopt);
  h.feed(reader, slurp(testing::data_dir() / "exchange-protocol-log-lines.txt"));
  h.done(reader);
  EXPECT_EQ(h.stats.malformed, 0u);
  // The Send log sample negotiated TLS 1.0 as a client: an outbound legacy peer, UTF-8 connector.
  const PeerStats* p = h.peer(Direction::Outbound, "组织内 SMTP 发送连接器", "10.**.**.168");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->sessions[static_cast<int>(TlsClass::Tls1_0)], 1u);
  const PeerStats* q = h.peer(Direction::Inbound, "SERVER-HOSTNAME\\Default Frontend SERVER-HOSTNAME", "95.10.20.33");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->sessions[static_cast<int>(TlsClass::Tls1_2)], 1u);
  const FailureStats* f = h.failure("TLS negotiation failed with error UnknownCredentials", Direction::Inbound, "");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->example.line, 13u);
  EXPECT_EQ(f->example.file, "samples");
}

TEST(ExchangeProtocolReader, RebuildsSessionsWrittenBySluice) {
  Harness h;
  Header header;
  std::string text = receive_header() + session_text("00000000000000A1", "192.0.2.10:40001", kTls10, 2, "old.example") +
                     session_text("00000000000000A2", "192.0.2.20:40002", kTls13, 1) +
                     session_text("00000000000000A3", "192.0.2.10:40003", "", 0, "old.example");
  ExchangeProtocolReader reader(h.context(), header, std::nullopt);
  h.feed(reader, text, 7);
  EXPECT_EQ(reader.open_sessions(), 0u);  // every session ended with its "-" line
  h.done(reader);
  EXPECT_EQ(h.stats.malformed, 0u);
  const PeerStats* old = h.peer(Direction::Inbound, "Default Frontend", "192.0.2.10");
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(old->sessions[1], 1u);  // TLS1_0
  EXPECT_EQ(old->sessions[0], 1u);  // plaintext
  EXPECT_EQ(old->legacy_messages, 2u);
  EXPECT_EQ(old->messages, 2u);
  EXPECT_EQ(old->names, std::vector<std::string>{"old.example"});
  EXPECT_TRUE(old->is_legacy_peer());
  const PeerStats* modern = h.peer(Direction::Inbound, "Default Frontend", "192.0.2.20");
  ASSERT_NE(modern, nullptr);
  EXPECT_EQ(modern->sessions[4], 1u);
  EXPECT_FALSE(modern->is_legacy_peer());
  EXPECT_EQ(h.aggregate.sessions[0] + h.aggregate.sessions[1] + h.aggregate.sessions[4], 3u);
}

TEST(ExchangeProtocolReader, RefusedLegacyClientAndFailureExample) {
  Harness h;
  Header header;
  std::string text = slurp(testing::data_dir() / "sluice-RECV2026112707-1.LOG");
  ExchangeProtocolReader reader(h.context("recv.log"), header, std::nullopt);
  h.feed(reader, text);
  h.done(reader);
  const PeerStats* p = h.peer(Direction::Inbound, "Default", "127.0.0.1");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->sessions[4], 1u);  // TLS 1.3
  EXPECT_EQ(p->sessions[5], 1u);  // the refused TLS 1.0 client
  EXPECT_EQ(p->refused_legacy, 1u);
  EXPECT_EQ(p->messages, 1u);
  EXPECT_EQ(p->names, (std::vector<std::string>{"c13.test", "mail.example.com"}));
  const FailureStats* f =
      h.failure("TLS negotiation failed with error UnsupportedProtocol", Direction::Inbound, "127.0.0.1");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->count, 1u);
  EXPECT_EQ(f->example.line, 33u);
  EXPECT_NE(f->example.text.find("UnsupportedProtocol"), std::string::npos);
}

TEST(ExchangeProtocolReader, ColumnsComeFromTheFieldsHeader) {
  Harness h;
  Header header;
  std::string text =
      "#Log-type: SMTP Send Protocol Log\r\n"
      "#Fields: session-id,date-time,event,remote-endpoint,local-endpoint,connector-id,sequence-number,context,data\r\n"
      "AB,2026-11-27T07:00:00.000Z,+,203.0.113.5:25,10.0.0.1:4000,To Partner,0,,\r\n"
      "AB,2026-11-27T07:00:00.100Z,*,203.0.113.5:25,10.0.0.1:4000,To Partner,1,"
      "\"TLS protocol SP_PROT_TLS1_1_CLIENT negotiation succeeded using bulk encryption algorithm CALG_AES_128 with "
      "strength 128 bits, MAC hash algorithm CALG_SHA1 with strength 160 bits and key exchange algorithm CALG_ECDHE "
      "with strength 256 bits\",\r\n"
      "AB,2026-11-27T07:00:00.200Z,<,203.0.113.5:25,10.0.0.1:4000,To Partner,2,,451 5.7.3 Must issue a STARTTLS "
      "command first\r\n"
      "AB,2026-11-27T07:00:00.300Z,-,203.0.113.5:25,10.0.0.1:4000,To Partner,3,Local,\r\n";
  ExchangeProtocolReader reader(h.context(), header, std::nullopt);
  h.feed(reader, text);
  h.done(reader);
  EXPECT_EQ(h.stats.malformed, 0u);
  const PeerStats* p = h.peer(Direction::Outbound, "To Partner", "203.0.113.5");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->sessions[2], 1u);
  ASSERT_NE(h.failure("451 5.7.3 Must issue a STARTTLS command first", Direction::Outbound, "203.0.113.5"), nullptr);
}

TEST(ExchangeProtocolReader, QuotedMultiLineFieldAndEmbeddedQuotes) {
  Harness h;
  Header header;
  std::string text =
      receive_header() +
      "2026-11-27T07:00:00.000Z,\"Conn, \"\"quoted\"\"\",S1,0,10.0.0.1:25,[2001:db8::5]:4000,+,,\r\n"
      "2026-11-27T07:00:00.001Z,\"Conn, \"\"quoted\"\"\",S1,1,10.0.0.1:25,[2001:db8::5]:4000,<,\"EHLO "
      "two\r\nlines\",\r\n"
      "2026-11-27T07:00:00.002Z,\"Conn, \"\"quoted\"\"\",S1,2,10.0.0.1:25,[2001:db8::5]:4000,-,,Local\r\n";
  ExchangeProtocolReader reader(h.context(), header, std::nullopt);
  h.feed(reader, text, 5);
  h.done(reader);
  EXPECT_EQ(h.stats.malformed, 0u);
  // The connector keeps its inner quotes doubled as a key; the IPv6 address loses its brackets.
  const PeerStats* p = h.peer(Direction::Inbound, "Conn, \"\"quoted\"\"", "2001:db8::5");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->sessions[0], 1u);
}

TEST(ExchangeProtocolReader, MalformedLinesAreCountedWithTheirNumbers) {
  Harness h;
  Header header;
  std::string text = receive_header() +
                     "garbage without commas\r\n"
                     "2026-11-27T07:00:00.000Z,C,S1,0,a,b,+,,\r\n"
                     "2026-11-27T07:00:00.000Z,C,S1,1,a,b,?,,\r\n"             // unknown event
                     "2026-11-27T07:00:00.000Z,C,S1,1,a,b,<,\"EHLO x\"y,\r\n"  // bad quoting
                     "2026-11-27T07:00:00.000Z,C,S1,2,a,b,-,,,extra\r\n";      // ten fields
  ExchangeProtocolReader reader(h.context("m.log"), header, std::nullopt);
  h.feed(reader, text);
  h.done(reader);
  EXPECT_EQ(h.stats.malformed, 4u);
  ASSERT_EQ(h.aggregate.malformed_examples.size(), 4u);
  EXPECT_EQ(h.aggregate.malformed_examples[0].line, 6u);
  EXPECT_EQ(h.aggregate.malformed_examples[1].line, 8u);
  EXPECT_EQ(h.aggregate.malformed_examples[3].line, 10u);
  EXPECT_EQ(h.aggregate.sessions[0], 1u);  // the session without its "-" line still counts
}

TEST(ExchangeProtocolReader, UnclosedQuoteIsMalformedAfterTheLineLimitAndReadingGoesOn) {
  Harness h;
  Header header;
  std::string text = receive_header() + "2026-11-27T07:00:00.000Z,C,S1,0,a,b,<,\"EHLO never closed,\r\n";
  for (int i = 0; i < 70; ++i) text += "filler\r\n";
  text += "2026-11-27T07:00:00.000Z,C,S2,0,a,10.9.9.9:1,+,,\r\n";
  ExchangeProtocolReader reader(h.context(), header, std::nullopt);
  h.feed(reader, text, 13);
  h.done(reader);
  // 64 physical lines make one malformed record; the other 7 fillers are malformed lines.
  EXPECT_EQ(h.stats.malformed, 1u + 7u);
  EXPECT_EQ(h.aggregate.malformed_examples[0].line, 6u);
  EXPECT_EQ(h.aggregate.malformed_examples[1].line, 6u + 64u);
  EXPECT_NE(h.peer(Direction::Inbound, "C", "10.9.9.9"), nullptr);
}

// Found by fuzz/logscan_exchange: a #Fields header with more columns than a line can hold made
// the padding of a truncated last line write past the field array.
TEST(ExchangeProtocolReader, TruncatedLineUnderAnOverlongFieldsHeaderIsMalformed) {
  Harness h;
  Header header;
  std::string fields =
      "#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,"
      "event,data,context";
  for (int i = 0; i < 40; ++i) fields += ",extra" + std::to_string(i);
  std::string text = "#Software: Microsoft Exchange Server\r\n#Log-type: SMTP Receive Protocol Log\r\n" + fields +
                     "\r\n2026-11-27T07:00:00.000Z,C,S1,0,a,10.1.1.1:5,+,,\r\n2026-11-27T07:00:01.000Z,C,S1,1,a";
  ExchangeProtocolReader reader(h.context(), header, std::nullopt);
  h.feed(reader, text, 7);
  h.done(reader);
  EXPECT_EQ(h.stats.malformed, 2u);  // neither line has the header's 49 fields
}

TEST(ExchangeProtocolReader, TruncatedLastLineIsRead) {
  Harness h;
  Header header;
  std::string text = receive_header() + "2026-11-27T07:00:00.000Z,C,S1,0,a,10.1.1.1:5,+,,\r\n" +
                     "2026-11-27T07:00:00.000Z,C,S1,1,a,10.1.1.1:5,*,,\"TLS protocol SP_PROT_TLS1_0_SERVER negotiation "
                     "succeeded using bulk";
  ExchangeProtocolReader reader(h.context(), header, std::nullopt);
  h.feed(reader, text);
  h.done(reader);
  EXPECT_EQ(h.stats.malformed, 0u);
  const PeerStats* p = h.peer(Direction::Inbound, "C", "10.1.1.1");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->sessions[1], 1u);
}

TEST(ExchangeProtocolReader, SessionSplitAcrossTwoFilesIsOneSession) {
  Harness h;
  Header header;
  std::string all = session_text("00000000000000B1", "192.0.2.30:1", kTls10, 1);
  auto cut = all.find("\r\n", all.size() / 2) + 2;
  ExchangeProtocolReader first(h.context("a"), header, Direction::Inbound);
  h.feed(first, all.substr(0, cut));
  first.finish();
  ReadContext second_ctx = h.context("b");
  second_ctx.order = 1;
  ExchangeProtocolReader second(second_ctx, header, Direction::Inbound);
  h.feed(second, all.substr(cut));
  h.done(second);
  const PeerStats* p = h.peer(Direction::Inbound, "Default Frontend", "192.0.2.30");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->total_sessions(), 1u);
  EXPECT_EQ(p->sessions[1], 1u);
  EXPECT_EQ(p->legacy_messages, 1u);
}

TEST(ExchangeProtocolReader, HelpersReadVersionsAndOffers) {
  char side = 0;
  EXPECT_EQ(exchange_protocol_version(kTls10, &side), TlsClass::Tls1_0);
  EXPECT_EQ(side, 'S');
  EXPECT_EQ(exchange_protocol_version("TLS protocol SP_PROT_TLS1_2_CLIENT negotiation", &side), TlsClass::Tls1_2);
  EXPECT_EQ(side, 'C');
  EXPECT_EQ(exchange_protocol_version("Received certificate"), TlsClass::Plaintext);
  EXPECT_TRUE(offered_legacy_only("Client offered TLS1_0 only; connector accepts TLS1_2 to TLS1_3"));
  EXPECT_TRUE(offered_legacy_only("Client offered TLS1_1, TLS1_0; connector accepts TLS1_2 to TLS1_3"));
  EXPECT_FALSE(offered_legacy_only("Client offered TLS1_3, TLS1_2; connector accepts TLS1_2 to TLS1_3"));
  EXPECT_FALSE(offered_legacy_only("Client offered up to TLS1_2 (no supported_versions extension); x"));
  EXPECT_EQ(session_key("08D760DF231F00BC"), session_key(std::string("08D760DF231F00BC")));
  EXPECT_NE(session_key("08D760DF231F00BC"), session_key("08D760DF231F00BD"));
  EXPECT_NE(session_key("08D760DF"), session_key(std::string_view("08D760DF\0", 9)));
  EXPECT_FALSE(session_key("08D760DF231F00BC") >> 63);
  EXPECT_TRUE(session_key("a-session-id-longer-than-16") >> 63);
}

/// Exchange 2013+ Send log lines for one connection attempt, in the shape Exchange writes them:
/// "Set Session Permissions" and "attempting to connect" under the session id without a local
/// endpoint, then "+" once connected (addresses from the documentation ranges).
std::string send_line(const std::string& id, int seq, const std::string& local, const std::string& event,
                      const std::string& data, const std::string& context, int second = 0) {
  return fmt::format("2026-11-27T07:00:{:02}.000Z,Outbound to Office 365,{},{},{},203.0.113.25:25,{},{},{}\r\n", second,
                     id, seq, local, event, data, context);
}

std::string send_header() {
  return protocol_log::header_lines(protocol_log::Direction::Send, std::chrono::system_clock::time_point{});
}

std::string exchange_send_session(const std::string& id) {
  const std::string local = "192.168.1.100:44277";
  return send_line(id, 0, "", "*", "SendRoutingHeaders", "Set Session Permissions") +
         send_line(id, 1, "", "*", "", "attempting to connect") + send_line(id, 2, local, "+", "", "") +
         send_line(id, 3, local, "<", "220 mx.example ESMTP", "") +
         send_line(id, 4, local, ">", "EHLO gw.example", "") + send_line(id, 5, local, ">", "STARTTLS", "") +
         send_line(id, 6, local, "<", "220 2.0.0 SMTP server ready", "") +
         send_line(id, 7, local, "*", "",
                   "\"TLS protocol SP_PROT_TLS1_2_CLIENT negotiation succeeded using bulk encryption algorithm "
                   "CALG_AES_256 with strength 256 bits, MAC hash algorithm CALG_SHA_384 with strength 0 bits and key "
                   "exchange algorithm CALG_ECDH_EPHEM with strength 384 bits\"") +
         send_line(id, 8, local, "-", "", "Local", 1);
}

std::string exchange_connect_failure(const std::string& id, int winsock, const std::string& message) {
  return send_line(id, 0, "", "*", "SendRoutingHeaders", "Set Session Permissions") +
         send_line(id, 1, "", "*", "", "attempting to connect") +
         send_line(id, 2, "", "*", "",
                   fmt::format("\"Failed to connect. Winsock error code: {0}, Win32 error code: {0}, Destination "
                               "domain: example.com, Error Message: {1} 203.0.113.25:25.\"",
                               winsock, message),
                   21);
}

TEST(ExchangeProtocolReader, SendLogLinesBeforeTheConnectBelongToTheSession) {
  Harness h;
  Header header;
  ExchangeProtocolReader reader(h.context("SEND.LOG"), header, std::nullopt);
  h.feed(reader, send_header() + exchange_send_session("08D6A8D416004F78"));
  h.done(reader);
  EXPECT_EQ(h.stats.malformed, 0u);
  // One connection, on TLS 1.2: the lines before "+" are not a second, plaintext session.
  ClassCounts expected{};
  expected[static_cast<std::size_t>(TlsClass::Tls1_2)] = 1;
  EXPECT_EQ(h.aggregate.sessions, expected);
  EXPECT_TRUE(h.aggregate.failures.empty());
}

TEST(ExchangeProtocolReader, RefusedAndTimedOutConnectionsAreConnectionFailures) {
  Harness h;
  Header header;
  std::string text =
      send_header() +
      exchange_connect_failure("08D6A8D416004F01", 10061,
                               "No connection could be made because the target machine actively refused it") +
      exchange_connect_failure("08D6A8D416004F02", 10060,
                               "A connection attempt failed because the connected party did not "
                               "properly respond after a period of time") +
      exchange_send_session("08D6A8D416004F03");
  ExchangeProtocolReader reader(h.context("SEND.LOG"), header, std::nullopt);
  h.feed(reader, text);
  h.done(reader);
  const std::size_t connect_failed = static_cast<std::size_t>(TlsClass::ConnectFailed);
  EXPECT_EQ(h.aggregate.sessions[connect_failed], 2u);
  EXPECT_EQ(h.aggregate.sessions[static_cast<std::size_t>(TlsClass::Plaintext)], 0u);
  EXPECT_EQ(h.aggregate.sessions[static_cast<std::size_t>(TlsClass::Tls1_2)], 1u);
  const PeerStats* p = h.peer(Direction::Outbound, "Outbound to Office 365", "203.0.113.25");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->sessions[connect_failed], 2u);
  const FailureStats* refused = h.failure("Failed to connect: connection refused", Direction::Outbound, "203.0.113.25");
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->count, 1u);
  EXPECT_EQ(refused->example.line, 8u);  // after the five header lines and two lines of the attempt
  const FailureStats* timed_out = h.failure("Failed to connect: timed out", Direction::Outbound, "203.0.113.25");
  ASSERT_NE(timed_out, nullptr);
  EXPECT_EQ(timed_out->first, *parse_iso8601("2026-11-27T07:00:21.000Z"));
}

TEST(ExchangeProtocolReader, SluicesOwnConnectFailureLineIsAConnectionFailure) {
  // sluice's send log writes one line, without "+" or "-", for a connection it could not make
  // (src/outbound/smtp_client.cc); without a header and a SEND name the direction is still outbound.
  Harness h;
  Header header;
  std::string text =
      "2026-11-27T07:00:00.000Z,Outbound,0000000000000A01,0,,203.0.113.7:25,*,,"
      "Failed to connect to mx.example.org (203.0.113.7:25): Connection refused\r\n"
      "2026-11-27T07:00:05.000Z,Outbound,0000000000000A02,0,,203.0.113.8:25,*,,"
      "Failed to connect to mx2.example.org (203.0.113.8:25): TimedOut\r\n";
  ExchangeProtocolReader reader(h.context("protocol.log"), header, std::nullopt);
  h.feed(reader, text);
  h.done(reader);
  EXPECT_EQ(h.aggregate.sessions[static_cast<std::size_t>(TlsClass::ConnectFailed)], 2u);
  EXPECT_EQ(h.aggregate.sessions[static_cast<std::size_t>(TlsClass::Plaintext)], 0u);
  EXPECT_NE(h.failure("Failed to connect: connection refused", Direction::Outbound, "203.0.113.7"), nullptr);
  EXPECT_NE(h.failure("Failed to connect: timed out", Direction::Outbound, "203.0.113.8"), nullptr);
}

TEST(ExchangeProtocolReader, AnAttemptCutFromItsConnectionByAFileRollIsOneSession) {
  // Exchange rolls files at a size limit: "attempting to connect" ends one file, "+" starts the next.
  Harness h;
  Header header;
  std::string whole = exchange_send_session("08D6A8D416004F78");
  auto cut = whole.find(",+,");
  cut = whole.rfind("\r\n", cut) + 2;
  ExchangeProtocolReader first(h.context("SEND-1.LOG"), header, std::nullopt);
  h.feed(first, send_header() + whole.substr(0, cut));
  first.finish();
  ReadContext second_context = h.context("SEND-2.LOG");
  second_context.order = 1;
  ExchangeProtocolReader second(second_context, header, std::nullopt);
  h.feed(second, send_header() + whole.substr(cut));
  h.done(second);
  ClassCounts expected{};
  expected[static_cast<std::size_t>(TlsClass::Tls1_2)] = 1;
  EXPECT_EQ(h.aggregate.sessions, expected);
}

TEST(ExchangeProtocolReader, AnAttemptTheLogLeavesUnconnectedIsNotPlaintext) {
  Harness h;
  Header header;
  ExchangeProtocolReader reader(h.context("SEND.LOG"), header, std::nullopt);
  h.feed(reader, send_header() + send_line("08D6A8D416004F09", 0, "", "*", "", "attempting to connect"));
  h.done(reader);
  EXPECT_EQ(h.aggregate.sessions[static_cast<std::size_t>(TlsClass::ConnectFailed)], 1u);
  EXPECT_EQ(h.aggregate.sessions[static_cast<std::size_t>(TlsClass::Plaintext)], 0u);
}

}  // namespace
}  // namespace sluice::logscan
