#include "inbound/session.h"

#include <gtest/gtest.h>
#include <asio/ssl/context.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "inbound/session_test_util.h"
#include "tls/handshake_test_util.h"

namespace sluice::inbound {
namespace {

using namespace std::chrono_literals;
using test_util::Client;
using test_util::kGreeting;
using test_util::kStartData;
using test_util::SessionHarness;

const std::string kEhloReply =
    "250-mx.test.example Hello [127.0.0.1]\r\n"
    "250-SIZE 36700160\r\n"
    "250-PIPELINING\r\n"
    "250-8BITMIME\r\n"
    "250-ENHANCEDSTATUSCODES\r\n"
    "250-SMTPUTF8\r\n"
    "250 STARTTLS\r\n";
const std::string kNeedEhlo = "503 5.5.1 Send EHLO or HELO first\r\n";
const std::string kNeedMailForRcpt = "503 5.5.1 Need MAIL before RCPT\r\n";
const std::string kNeedMailForData = "503 5.5.1 Need MAIL before DATA\r\n";
const std::string kReset = "250 2.0.0 Resetting\r\n";
const std::string kShutdown = "421 4.3.2 mx.test.example Service shutting down, try again later\r\n";

std::string sender_ok(std::string_view address) { return "250 2.1.0 Sender <" + std::string(address) + "> OK\r\n"; }
std::string recipient_ok(std::string_view address) {
  return "250 2.1.5 Recipient <" + std::string(address) + "> OK\r\n";
}

/// The queue id out of "250 2.6.0 <id> Queued mail for delivery\r\n", or "" if it is not that.
std::string queued_id(const std::string& reply) {
  const std::string prefix = "250 2.6.0 ";
  const std::string suffix = " Queued mail for delivery\r\n";
  if (reply.rfind(prefix, 0) != 0 || reply.size() <= prefix.size() + suffix.size()) return {};
  if (reply.compare(reply.size() - suffix.size(), suffix.size(), suffix) != 0) return {};
  return reply.substr(prefix.size(), reply.size() - prefix.size() - suffix.size());
}

/// Greets with EHLO and checks the replies so far.
void ehlo(Client& client) {
  ASSERT_EQ(client.reply(), kGreeting);
  ASSERT_EQ(client.command("EHLO client.example"), kEhloReply);
}

/// Sends a whole message through MAIL, RCPT (each of `recipients`), DATA; returns the final reply.
std::string send_message(Client& client, std::string_view from, const std::vector<std::string>& recipients,
                         std::string_view wire_content) {
  std::string mail = client.command("MAIL FROM:<" + std::string(from) + ">");
  if (mail != sender_ok(from)) return "MAIL got " + mail;
  for (const auto& r : recipients) {
    std::string rcpt = client.command("RCPT TO:<" + r + ">");
    if (rcpt.rfind("250 ", 0) != 0) return "RCPT got " + rcpt;
  }
  std::string data = client.command("DATA");
  if (data != kStartData) return "DATA got " + data;
  client.send(wire_content);
  return client.reply();
}

TEST(SessionTest, GreetsAndAnswersEhloWithItsExtensions) {
  SessionHarness h;
  Client& c = h.start();
  EXPECT_EQ(c.reply(), kGreeting);
  EXPECT_EQ(c.command("EHLO client.example"), kEhloReply);
  EXPECT_EQ(c.command("QUIT"), "221 2.0.0 mx.test.example Service closing transmission channel\r\n");
  EXPECT_TRUE(c.at_eof());
  EXPECT_TRUE(h.wait_ended());
}

TEST(SessionTest, FullTransactionReturnsToGreeted) {
  SessionHarness h;
  Client& c = h.start();
  ehlo(c);
  EXPECT_EQ(c.command("MAIL FROM:<alice@client.example>"), sender_ok("alice@client.example"));
  EXPECT_EQ(c.command("RCPT TO:<bob@example.org>"), recipient_ok("bob@example.org"));
  EXPECT_EQ(c.command("DATA"), kStartData);
  c.send("Subject: hi\r\n\r\nbody\r\n.\r\n");
  std::string id = queued_id(c.reply());
  EXPECT_EQ(id.size(), 16u);
  EXPECT_EQ(h.queued(), std::vector<std::string>{id});
  // Back in Greeted: no transaction, but no new EHLO needed either.
  EXPECT_EQ(c.command("RCPT TO:<bob@example.org>"), kNeedMailForRcpt);
  EXPECT_EQ(c.command("DATA"), kNeedMailForData);
  EXPECT_EQ(c.command("MAIL FROM:<>"), sender_ok(""));
}

TEST(SessionTest, CommandsOutOfSequenceGet503) {
  SessionHarness h;
  Client& c = h.start();
  ASSERT_EQ(c.reply(), kGreeting);
  EXPECT_EQ(c.command("MAIL FROM:<a@client.example>"), kNeedEhlo);
  EXPECT_EQ(c.command("RCPT TO:<bob@example.org>"), kNeedMailForRcpt);
  EXPECT_EQ(c.command("DATA"), kNeedMailForData);
  EXPECT_EQ(c.command("EHLO client.example"), kEhloReply);
  EXPECT_EQ(c.command("DATA"), kNeedMailForData);
  EXPECT_EQ(c.command("MAIL FROM:<a@client.example>"), sender_ok("a@client.example"));
  EXPECT_EQ(c.command("MAIL FROM:<a@client.example>"), "503 5.5.1 Sender already specified\r\n");
  EXPECT_EQ(c.command("DATA"), "503 5.5.1 Need RCPT before DATA\r\n");
  EXPECT_EQ(c.command("DATA now"), "501 5.5.4 Syntax: DATA\r\n");
}

TEST(SessionTest, RsetBeforeGreetingKeepsTheSessionUngreeted) {
  SessionHarness h;
  Client& c = h.start();
  ASSERT_EQ(c.reply(), kGreeting);
  EXPECT_EQ(c.command("RSET"), kReset);
  EXPECT_EQ(c.command("MAIL FROM:<a@client.example>"), kNeedEhlo);
}

TEST(SessionTest, RsetInGreetedStaysGreeted) {
  SessionHarness h;
  Client& c = h.start();
  ehlo(c);
  EXPECT_EQ(c.command("RSET"), kReset);
  EXPECT_EQ(c.command("MAIL FROM:<a@client.example>"), sender_ok("a@client.example"));
}

TEST(SessionTest, RsetAfterMailDropsTheSender) {
  SessionHarness h;
  Client& c = h.start();
  ehlo(c);
  ASSERT_EQ(c.command("MAIL FROM:<a@client.example>"), sender_ok("a@client.example"));
  EXPECT_EQ(c.command("RSET"), kReset);
  EXPECT_EQ(c.command("RCPT TO:<bob@example.org>"), kNeedMailForRcpt);
  EXPECT_EQ(c.command("MAIL FROM:<b@client.example>"), sender_ok("b@client.example"));
}

TEST(SessionTest, RsetAfterRcptDropsTheWholeTransaction) {
  SessionHarness h;
  Client& c = h.start();
  ehlo(c);
  ASSERT_EQ(c.command("MAIL FROM:<a@client.example>"), sender_ok("a@client.example"));
  ASSERT_EQ(c.command("RCPT TO:<bob@example.org>"), recipient_ok("bob@example.org"));
  EXPECT_EQ(c.command("RSET"), kReset);
  EXPECT_EQ(c.command("DATA"), kNeedMailForData);
  // The old recipient is gone too: a new transaction without RCPT cannot DATA.
  ASSERT_EQ(c.command("MAIL FROM:<a@client.example>"), sender_ok("a@client.example"));
  EXPECT_EQ(c.command("DATA"), "503 5.5.1 Need RCPT before DATA\r\n");
}

TEST(SessionTest, EhloInTheMiddleOfATransactionResetsIt) {
  SessionHarness h;
  Client& c = h.start();
  ehlo(c);
  ASSERT_EQ(c.command("MAIL FROM:<a@client.example>"), sender_ok("a@client.example"));
  ASSERT_EQ(c.command("RCPT TO:<bob@example.org>"), recipient_ok("bob@example.org"));
  EXPECT_EQ(c.command("EHLO other.example"), kEhloReply);
  EXPECT_EQ(c.command("DATA"), kNeedMailForData);
  EXPECT_EQ(c.command("MAIL FROM:<b@client.example>"), sender_ok("b@client.example"));
}

TEST(SessionTest, HeloInTheMiddleOfATransactionResetsIt) {
  SessionHarness h;
  Client& c = h.start();
  ehlo(c);
  ASSERT_EQ(c.command("MAIL FROM:<a@client.example>"), sender_ok("a@client.example"));
  EXPECT_EQ(c.command("HELO other.example"), "250 mx.test.example Hello [127.0.0.1]\r\n");
  EXPECT_EQ(c.command("RCPT TO:<bob@example.org>"), kNeedMailForRcpt);
}

TEST(SessionTest, HeloGreetsWithOneLineAndRefusesMailParameters) {
  SessionHarness h;
  Client& c = h.start();
  ASSERT_EQ(c.reply(), kGreeting);
  EXPECT_EQ(c.command("HELO client.example"), "250 mx.test.example Hello [127.0.0.1]\r\n");
  EXPECT_EQ(c.command("MAIL FROM:<a@client.example> SIZE=100"), "555 5.5.4 MAIL parameters need EHLO\r\n");
  EXPECT_EQ(c.command("MAIL FROM:<a@client.example> BODY=8BITMIME"), "555 5.5.4 MAIL parameters need EHLO\r\n");
  EXPECT_EQ(c.command("MAIL FROM:<a@client.example>"), sender_ok("a@client.example"));
  EXPECT_EQ(c.command("RCPT TO:<bob@example.org>"), recipient_ok("bob@example.org"));
  EXPECT_EQ(c.command("DATA"), kStartData);
  c.send("x\r\n.\r\n");
  std::string id = queued_id(c.reply());
  ASSERT_FALSE(id.empty());
  auto message = h.spool->load_message(id);
  ASSERT_TRUE(message);
  // RFC 3848: HELO is plain SMTP in the Received header.
  EXPECT_NE(message->find("Received: from client.example ([127.0.0.1]) by mx.test.example (sluice)\r\n\twith SMTP\r\n"),
            std::string::npos)
      << *message;
}

TEST(SessionTest, MailParametersAfterEhloAreChecked) {
  SessionHarness h;
  h.config.limits.max_message_size = 1000;
  Client& c = h.start();
  ASSERT_EQ(c.reply(), kGreeting);
  ASSERT_NE(c.command("EHLO client.example").find("\r\n250-SIZE 1000\r\n"), std::string::npos);
  EXPECT_EQ(c.command("MAIL FROM:<a@client.example> SIZE=1001"),
            "552 5.3.4 Message size exceeds fixed maximum message size (1000 octets)\r\n");
  EXPECT_EQ(c.command("MAIL FROM:<a@client.example> SIZE=ten"), "501 5.5.4 Syntax: SIZE=<octets>\r\n");
  EXPECT_EQ(c.command("MAIL FROM:<a@client.example> BODY=BINARYMIME"), "501 5.5.4 BODY must be 7BIT or 8BITMIME\r\n");
  EXPECT_EQ(c.command("MAIL FROM:<a@client.example> FOO=1"), "555 5.5.4 Unsupported MAIL parameter FOO\r\n");
  EXPECT_EQ(c.command("MAIL FROM:<a@client.example> SIZE=1000 BODY=8bitmime"), sender_ok("a@client.example"));
}

TEST(SessionTest, EhloAndHeloNeedOneHostname) {
  SessionHarness h;
  Client& c = h.start();
  ASSERT_EQ(c.reply(), kGreeting);
  EXPECT_EQ(c.command("EHLO"), "501 5.5.4 Syntax: EHLO hostname\r\n");
  EXPECT_EQ(c.command("HELO a b"), "501 5.5.4 Syntax: HELO hostname\r\n");
  // A failed EHLO does not greet.
  EXPECT_EQ(c.command("MAIL FROM:<a@client.example>"), kNeedEhlo);
}

TEST(SessionTest, RequireTlsRefusesMailRcptDataVrfyButNotSessionCommands) {
  SessionHarness h;
  h.connector().require_tls = true;
  Client& c = h.start();
  const std::string refused = "451 5.7.3 Must issue a STARTTLS command first\r\n";
  ASSERT_EQ(c.reply(), kGreeting);
  EXPECT_EQ(c.command("EHLO client.example"), kEhloReply);
  EXPECT_EQ(c.command("MAIL FROM:<a@client.example>"), refused);
  EXPECT_EQ(c.command("RCPT TO:<bob@example.org>"), refused);
  EXPECT_EQ(c.command("DATA"), refused);
  EXPECT_EQ(c.command("VRFY bob"), refused);
  EXPECT_EQ(c.command("NOOP"), "250 2.0.0 OK\r\n");
  EXPECT_EQ(c.command("RSET"), kReset);
  EXPECT_EQ(c.command("HELP"), "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY STARTTLS HELP\r\n");
  EXPECT_EQ(c.command("QUIT"), "221 2.0.0 mx.test.example Service closing transmission channel\r\n");
  EXPECT_TRUE(c.at_eof());
}

TEST(SessionTest, RequireTlsUsesTheConfiguredReply) {
  SessionHarness h;
  h.connector().require_tls = true;
  h.connector().require_tls_reply = smtp::make_reply(530, "5.7.0", "Must issue a STARTTLS command first");
  Client& c = h.start();
  ehlo(c);
  EXPECT_EQ(c.command("MAIL FROM:<a@client.example>"), "530 5.7.0 Must issue a STARTTLS command first\r\n");
}

TEST(SessionTest, WithoutRequireTlsVrfyIsAnswered) {
  SessionHarness h;
  Client& c = h.start();
  ehlo(c);
  EXPECT_EQ(c.command("VRFY bob"), "252 2.1.5 Cannot VRFY user, but will accept message and attempt delivery\r\n");
  EXPECT_EQ(c.command("EXPN list"), "502 5.5.1 EXPN not available\r\n");
}

TEST(SessionTest, TooManyErrorsEndWith421) {
  SessionHarness h;
  h.config.limits.max_errors = 3;
  Client& c = h.start();
  ehlo(c);
  EXPECT_EQ(c.command("FOO"), "500 5.5.2 Command unrecognized\r\n");
  // A good command in between does not forgive the earlier errors.
  EXPECT_EQ(c.command("NOOP"), "250 2.0.0 OK\r\n");
  EXPECT_EQ(c.command("RCPT TO:<bob@example.org>"), kNeedMailForRcpt);
  EXPECT_EQ(c.command("BAR"), "500 5.5.2 Command unrecognized\r\n");
  EXPECT_EQ(c.reply(), "421 4.7.0 mx.test.example Too many errors, closing connection\r\n");
  EXPECT_TRUE(c.at_eof());
  EXPECT_TRUE(h.wait_ended());
}

TEST(SessionTest, DuplicateRecipientsAreAcceptedButStoredOnce) {
  SessionHarness h;
  Client& c = h.start();
  ehlo(c);
  EXPECT_EQ(c.command("MAIL FROM:<alice@client.example>"), sender_ok("alice@client.example"));
  EXPECT_EQ(c.command("RCPT TO:<bob@example.org>"), recipient_ok("bob@example.org"));
  EXPECT_EQ(c.command("RCPT TO:<carol@example.org>"), recipient_ok("carol@example.org"));
  EXPECT_EQ(c.command("RCPT TO:<bob@example.org>"), recipient_ok("bob@example.org"));
  EXPECT_EQ(c.command("RCPT TO:<BOB@Example.ORG>"), recipient_ok("BOB@Example.ORG"));
  EXPECT_EQ(c.command("DATA"), kStartData);
  c.send("hi\r\n.\r\n");
  std::string id = queued_id(c.reply());
  ASSERT_FALSE(id.empty());
  auto envelope = h.spool->load_envelope(id);
  ASSERT_TRUE(envelope);
  ASSERT_EQ(envelope->recipients.size(), 2u);
  EXPECT_EQ(envelope->recipients[0].address, "bob@example.org");
  EXPECT_EQ(envelope->recipients[1].address, "carol@example.org");
  EXPECT_EQ(envelope->mail_from, "alice@client.example");
}

TEST(SessionTest, SpooledMessageIsReceivedHeaderPlusTheContentExactly) {
  SessionHarness h;
  Client& c = h.start();
  ehlo(c);
  // Dot-stuffed line, an empty line, a line that is only a stuffed dot, and 8-bit text.
  std::string reply = send_message(c, "alice@client.example", {"bob@example.org"},
                                   "Subject: test\r\n\r\n..leading dot\r\n..\r\n\r\nlast line \xc3\xa9\r\n.\r\n");
  std::string id = queued_id(reply);
  ASSERT_FALSE(id.empty()) << reply;
  const std::string content = "Subject: test\r\n\r\n.leading dot\r\n.\r\n\r\nlast line \xc3\xa9\r\n";
  auto message = h.spool->load_message(id);
  ASSERT_TRUE(message);
  ASSERT_GT(message->size(), content.size());
  EXPECT_EQ(message->substr(message->size() - content.size()), content);
  std::string header = message->substr(0, message->size() - content.size());
  EXPECT_EQ(
      header.rfind("Received: from client.example ([127.0.0.1]) by mx.test.example (sluice)\r\n\twith ESMTP\r\n", 0),
      0u)
      << header;
  EXPECT_NE(header.find("\t(connector \"Default\") id " + id + "\r\n\tfor <bob@example.org>; "), std::string::npos)
      << header;
  // One header: every line after the first is a continuation, and it ends with CRLF.
  ASSERT_GE(header.size(), 2u);
  EXPECT_EQ(header.substr(header.size() - 2), "\r\n");
  for (std::size_t at = header.find("\r\n"); at + 2 < header.size(); at = header.find("\r\n", at + 2))
    EXPECT_EQ(header[at + 2], '\t') << header;

  auto envelope = h.spool->load_envelope(id);
  ASSERT_TRUE(envelope);
  EXPECT_EQ(envelope->size, message->size());
  EXPECT_EQ(envelope->client_address, "127.0.0.1");
  EXPECT_EQ(envelope->client_helo, "client.example");
  EXPECT_EQ(envelope->connector, "Default");
  EXPECT_EQ(envelope->body_type, "7BIT");
  EXPECT_EQ(envelope->tls_version, "");
}

TEST(SessionTest, GroupCommitStoresTheMessageAndRoutesLocalRecipientsAtOnce) {
  SessionHarness h;
  h.connector().relay = config::RelayPermission::Ranges;
  h.connector().relay_from = {*net::Cidr::parse("127.0.0.0/8")};
  h.committer = std::make_unique<queue::GroupCommitter>(*h.spool, 2);
  Client& c = h.start();
  ehlo(c);
  std::string reply =
      send_message(c, "alice@client.example", {"bob@example.org", "carol@remote.example"}, "hi\r\n.\r\n");
  std::string id = queued_id(reply);
  ASSERT_FALSE(id.empty()) << reply;
  EXPECT_EQ(h.queued(), std::vector<std::string>{id});
  auto envelope = h.spool->load_envelope(id);
  ASSERT_TRUE(envelope);
  ASSERT_EQ(envelope->recipients.size(), 2u);
  // Local: already routed, so delivery needs no envelope rewrite first. Remote: the delivery
  // engine routes it (MX or smart host).
  EXPECT_EQ(envelope->recipients[0].next_hop, "local");
  EXPECT_EQ(envelope->recipients[1].next_hop, "");
  auto message = h.spool->load_message(id);
  ASSERT_TRUE(message);
  EXPECT_EQ(message->substr(message->size() - 4), "hi\r\n");
  EXPECT_EQ(h.committer->messages(), 1u);
}

TEST(SessionTest, GroupCommitWriteFailureGives451) {
  SessionHarness h;
  h.committer = std::make_unique<queue::GroupCommitter>(*h.spool, 2);
  Client& c = h.start();
  ehlo(c);
  std::filesystem::remove_all(h.queue_dir());
  std::ofstream(h.queue_dir()) << "not a directory";
  std::string reply = send_message(c, "alice@client.example", {"bob@example.org"}, "hi\r\n.\r\n");
  EXPECT_EQ(reply, "451 4.3.0 Temporary failure writing the message to the queue, try again later\r\n");
  EXPECT_TRUE(h.queued().empty());
}

TEST(SessionTest, SpoolWriteFailureGives451AndTheSessionContinues) {
  SessionHarness h;
  Client& c = h.start();
  ehlo(c);
  // Root ignores permissions, so make the directory unusable by replacing it with a file.
  std::filesystem::remove_all(h.queue_dir());
  std::ofstream(h.queue_dir()) << "not a directory";
  std::string reply = send_message(c, "alice@client.example", {"bob@example.org"}, "hi\r\n.\r\n");
  EXPECT_EQ(reply, "451 4.3.0 Temporary failure writing the message to the queue, try again later\r\n");
  EXPECT_TRUE(h.queued().empty());
  EXPECT_EQ(c.command("RSET"), kReset);
  // The failed transaction is over: a new one starts cleanly.
  EXPECT_EQ(c.command("RCPT TO:<bob@example.org>"), kNeedMailForRcpt);
  EXPECT_EQ(c.command("MAIL FROM:<a@client.example>"), sender_ok("a@client.example"));
  EXPECT_NE(h.protocol_log().find("Queue write failed: "), std::string::npos);
}

TEST(SessionTest, ShutdownWhileWaitingForACommandGives421) {
  SessionHarness h;
  Client& c = h.start();
  ehlo(c);
  // Let the session get back to reading before the request arrives.
  std::this_thread::sleep_for(50ms);
  auto started = std::chrono::steady_clock::now();
  h.on_session_thread([&h] { h.session->request_shutdown(); });
  EXPECT_EQ(c.reply(), kShutdown);
  EXPECT_TRUE(c.at_eof());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_TRUE(h.wait_ended());
}

TEST(SessionTest, ShutdownDuringDataLetsTheMessageFinishFirst) {
  SessionHarness h;
  Client& c = h.start();
  ehlo(c);
  ASSERT_EQ(c.command("MAIL FROM:<a@client.example>"), sender_ok("a@client.example"));
  ASSERT_EQ(c.command("RCPT TO:<bob@example.org>"), recipient_ok("bob@example.org"));
  ASSERT_EQ(c.command("DATA"), kStartData);
  c.send("Subject: half");
  std::this_thread::sleep_for(50ms);
  h.on_session_thread([&h] { h.session->request_shutdown(); });
  std::this_thread::sleep_for(50ms);
  c.send(" done\r\n.\r\n");
  std::string id = queued_id(c.reply());
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(c.reply(), kShutdown);
  EXPECT_TRUE(c.at_eof());
  EXPECT_EQ(h.queued(), std::vector<std::string>{id});
}

// A shutdown request that arrives while the session is still sending the replies to a burst of
// pipelined commands must not be forgotten: the session is about to wait for a command, so it
// should say 421 4.3.2 at once rather than sit until command_timeout.
TEST(SessionTest, ShutdownWhileFlushingRepliesIsNotLost) {
  SessionHarness h;
  h.config.limits.command_timeout = 1s;
  h.config.limits.max_junk_commands = 2000;  // the HELPs below are no attack here
  // Small buffers on both sides so that the replies below cannot all be written while the
  // client is not reading: the session is then stuck in send() when the request comes.
  Client& c = h.start(nullptr, 4096, 4096);
  ehlo(c);
  std::string burst;
  for (int i = 0; i < 1000; ++i) burst += "HELP\r\n";  // ~80 KB of replies for 6 KB of commands
  c.send(burst);
  std::this_thread::sleep_for(200ms);
  h.on_session_thread([&h] { h.session->request_shutdown(); });
  for (int i = 0; i < 1000; ++i) {
    std::string reply = c.reply();
    if (reply.rfind("214 ", 0) != 0) {
      ADD_FAILURE() << "reply " << i << ": " << reply;
      break;
    }
  }
  EXPECT_EQ(c.reply(), kShutdown);
}

TEST(SessionTest, IdleClientTimesOutWith421) {
  SessionHarness h;
  h.config.limits.command_timeout = 1s;
  Client& c = h.start();
  ehlo(c);
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(c.reply(), "421 4.4.2 mx.test.example Error: timeout exceeded\r\n");
  auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, 900ms);
  EXPECT_LT(waited, 3s);
  EXPECT_TRUE(c.at_eof());
}

TEST(SessionTest, PipelinedCommandsAreAnsweredInOrder) {
  SessionHarness h;
  Client& c = h.start();
  ehlo(c);
  c.send("MAIL FROM:<a@client.example>\r\nRCPT TO:<nobody@elsewhere.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
  EXPECT_EQ(c.reply(), sender_ok("a@client.example"));
  EXPECT_EQ(c.reply(), "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain\r\n");
  EXPECT_EQ(c.reply(), recipient_ok("bob@example.org"));
  EXPECT_EQ(c.reply(), kStartData);
  c.send("x\r\n.\r\nNOOP\r\n");
  EXPECT_FALSE(queued_id(c.reply()).empty());
  EXPECT_EQ(c.reply(), "250 2.0.0 OK\r\n");
}

TEST(SessionTest, RelayIsAllowedFromRelayFrom) {
  SessionHarness h;
  h.connector().relay = config::RelayPermission::Ranges;
  h.connector().relay_from = {*net::Cidr::parse("127.0.0.0/8")};
  Client& c = h.start();
  ehlo(c);
  ASSERT_EQ(c.command("MAIL FROM:<a@client.example>"), sender_ok("a@client.example"));
  EXPECT_EQ(c.command("RCPT TO:<nobody@elsewhere.example>"), recipient_ok("nobody@elsewhere.example"));
}

TEST(SessionTest, SenderInAnAcceptedDomainNeedsThePermissionAndTheSessionGoesOn) {
  SessionHarness h;  // 127.0.0.1 may not relay, and the connector lets only relay clients send as us
  Client& c = h.start();
  ehlo(c);
  EXPECT_EQ(c.command("MAIL FROM:<ceo@Example.Org>"),
            "550 5.7.1 Client does not have permissions to send as this sender\r\n");
  EXPECT_EQ(c.command("RCPT TO:<bob@example.org>"), "503 5.5.1 Need MAIL before RCPT\r\n");
  EXPECT_EQ(c.command("MAIL FROM:<>"), "250 2.1.0 Sender <> OK\r\n");
}

TEST(SessionTest, AConnectorForAnyoneLetsItsClientsSendAsTheOrganisation) {
  SessionHarness h;
  h.connector().accepted_domain_senders = config::AcceptedDomainSenders::Anyone;
  Client& c = h.start();
  ehlo(c);
  EXPECT_EQ(c.command("MAIL FROM:<ceo@example.org>"), sender_ok("ceo@example.org"));
  // Sending as the organisation is no permission to relay.
  EXPECT_EQ(c.command("RCPT TO:<x@elsewhere.example>"),
            "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain\r\n");
}

TEST(SessionTest, InternalRelayDomainsAreAcceptedFromAnyClientAndRoutedByTheDeliveryEngine) {
  SessionHarness h;  // 127.0.0.1 may not relay here
  h.config.accepted_domains.push_back({"corp.example", config::DomainType::InternalRelay});
  h.config.accepted_domains.push_back({"*.branch.example", config::DomainType::Authoritative});
  Client& c = h.start();
  ehlo(c);
  ASSERT_EQ(c.command("MAIL FROM:<a@client.example>"), sender_ok("a@client.example"));
  EXPECT_EQ(c.command("RCPT TO:<bob@Corp.Example>"), recipient_ok("bob@Corp.Example"));
  EXPECT_EQ(c.command("RCPT TO:<carol@eu.branch.example>"), recipient_ok("carol@eu.branch.example"));
  // Exact names cover no subdomain: that would be relaying.
  EXPECT_EQ(c.command("RCPT TO:<bob@sub.corp.example>"),
            "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain\r\n");
  ASSERT_EQ(c.command("DATA"), kStartData);
  const std::string id = queued_id(c.command("hi\r\n."));
  ASSERT_FALSE(id.empty());
  auto envelope = h.spool->load_envelope(id);
  ASSERT_TRUE(envelope);
  ASSERT_EQ(envelope->recipients.size(), 2u);
  EXPECT_EQ(envelope->recipients[0].next_hop, "");  // the send connector that names it, chosen later
  EXPECT_EQ(envelope->recipients[1].next_hop, "local");
}

TEST(SessionTest, BarePostmasterIsLocalEvenOnAPureRelay) {
  // RFC 5321 4.5.1: <Postmaster> is always accepted. Without local domains it must not become
  // postmaster@<hostname>, which would be relayed by MX (often back to this gateway).
  SessionHarness h;
  h.config.accepted_domains.clear();
  Client& c = h.start();
  ehlo(c);
  ASSERT_EQ(c.command("MAIL FROM:<a@client.example>"), sender_ok("a@client.example"));
  std::string reply = c.command("RCPT TO:<postmaster>");
  EXPECT_EQ(reply.rfind("250 2.1.5 ", 0), 0u) << reply;
  EXPECT_EQ(reply.find('@'), std::string::npos) << reply;
  EXPECT_EQ(c.command("RCPT TO:<nobody@elsewhere.example>").substr(0, 10), "550 5.7.54");
}

TEST(SessionTest, TooManyRecipientsGet452) {
  SessionHarness h;
  h.config.limits.max_recipients = 2;
  Client& c = h.start();
  ehlo(c);
  ASSERT_EQ(c.command("MAIL FROM:<a@client.example>"), sender_ok("a@client.example"));
  EXPECT_EQ(c.command("RCPT TO:<b1@example.org>"), recipient_ok("b1@example.org"));
  EXPECT_EQ(c.command("RCPT TO:<b2@example.org>"), recipient_ok("b2@example.org"));
  EXPECT_EQ(c.command("RCPT TO:<b3@example.org>"), "452 4.5.3 Too many recipients (the limit is 2 per message)\r\n");
}

TEST(SessionTest, TooLongCommandLineIsRefusedAndTheSessionGoesOn) {
  SessionHarness h;
  Client& c = h.start();
  ehlo(c);
  EXPECT_EQ(c.command("NOOP " + std::string(600, 'x')), "500 5.5.2 Line too long (the limit is 512 octets)\r\n");
  EXPECT_EQ(c.command("NOOP"), "250 2.0.0 OK\r\n");
}

TEST(SessionTest, BareLfInDataIsRefusedAndTheTransactionEnds) {
  SessionHarness h;
  Client& c = h.start();
  ehlo(c);
  std::string reply = send_message(c, "a@client.example", {"bob@example.org"}, "one\ntwo\r\n.\r\n");
  EXPECT_EQ(reply, "550 5.6.0 Message contains bare CR or LF (refused to prevent SMTP smuggling)\r\n");
  EXPECT_TRUE(h.queued().empty());
  EXPECT_TRUE(h.spool->list().empty());
  EXPECT_EQ(c.command("MAIL FROM:<a@client.example>"), sender_ok("a@client.example"));
}

TEST(SessionTest, StarttlsWithoutCertificateOrWhenNotOffered) {
  {
    SessionHarness h;  // STARTTLS advertised, but no TLS context was loaded
    Client& c = h.start();
    ehlo(c);
    EXPECT_EQ(c.command("STARTTLS"), "454 4.7.0 TLS not available due to temporary reason\r\n");
    EXPECT_EQ(c.command("STARTTLS now"), "501 5.5.4 Syntax: STARTTLS\r\n");
  }
  {
    SessionHarness h;
    h.connector().starttls = false;
    Client& c = h.start();
    ASSERT_EQ(c.reply(), kGreeting);
    std::string reply = c.command("EHLO client.example");
    EXPECT_EQ(reply.find("STARTTLS"), std::string::npos);
    EXPECT_EQ(reply.substr(reply.size() - 14), "250 SMTPUTF8\r\n");
    EXPECT_EQ(c.command("STARTTLS"), "502 5.5.1 STARTTLS not offered on this connector\r\n");
  }
}

TEST(SessionTest, StarttlsDiscardsInjectedCommandsAndRestartsTheSession) {
  SessionHarness h;
  h.connector().require_tls = true;
  auto creds = tls::test_util::make_self_signed("ec");
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  ASSERT_EQ(SSL_CTX_use_certificate(context->native_handle(), creds.cert.get()), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(context->native_handle(), creds.key.get()), 1);
  Client& c = h.start(context);
  ehlo(c);
  // CVE-2011-0411: the command sent with STARTTLS must not be run inside the TLS session.
  c.send("STARTTLS\r\nEHLO injected.example\r\n");
  ASSERT_EQ(c.reply(), "220 2.0.0 SMTP server ready\r\n");
  std::this_thread::sleep_for(20ms);  // both lines reach the server before the handshake
  tls::test_util::CtxPtr client_context(SSL_CTX_new(TLS_client_method()));
  ASSERT_TRUE(c.start_tls(client_context.get()));
  // Had the injected EHLO run, this would be its 250; the TLS session starts ungreeted.
  EXPECT_EQ(c.command("MAIL FROM:<a@client.example>"), kNeedEhlo);
  std::string ehlo_reply = c.command("EHLO client.example");
  EXPECT_EQ(ehlo_reply.find("STARTTLS"), std::string::npos) << ehlo_reply;
  EXPECT_EQ(c.command("STARTTLS"), "503 5.5.1 TLS already active\r\n");
  std::string reply = send_message(c, "a@client.example", {"bob@example.org"}, "secret\r\n.\r\n");
  std::string id = queued_id(reply);
  ASSERT_FALSE(id.empty()) << reply;
  auto envelope = h.spool->load_envelope(id);
  ASSERT_TRUE(envelope);
  EXPECT_EQ(envelope->tls_version, "TLS1_3");
  EXPECT_EQ(envelope->tls_cipher, SSL_CIPHER_standard_name(SSL_get_current_cipher(c.ssl())));
  auto message = h.spool->load_message(id);
  ASSERT_TRUE(message);
  EXPECT_NE(message->find("\twith ESMTPS (version=TLS1_3, cipher=" + envelope->tls_cipher + ")\r\n"), std::string::npos)
      << *message;
  EXPECT_NE(h.protocol_log().find("Discarded 23 bytes sent after STARTTLS before the TLS handshake"),
            std::string::npos);
}

TEST(SessionTest, ADeliveredMessageForgivesEarlierErrors) {
  SessionHarness h;
  h.config.limits.max_errors = 3;
  Client& c = h.start();
  ehlo(c);
  EXPECT_EQ(c.command("FOO"), "500 5.5.2 Command unrecognized\r\n");
  EXPECT_EQ(c.command("FOO"), "500 5.5.2 Command unrecognized\r\n");
  EXPECT_FALSE(queued_id(send_message(c, "a@client.example", {"bob@example.org"}, "hi\r\n.\r\n")).empty());
  EXPECT_EQ(c.command("FOO"), "500 5.5.2 Command unrecognized\r\n");
  EXPECT_EQ(c.command("FOO"), "500 5.5.2 Command unrecognized\r\n");
  EXPECT_EQ(c.command("NOOP"), "250 2.0.0 OK\r\n");
  EXPECT_EQ(c.command("FOO"), "500 5.5.2 Command unrecognized\r\n");
  EXPECT_EQ(c.reply(), "421 4.7.0 mx.test.example Too many errors, closing connection\r\n");
  EXPECT_TRUE(c.at_eof());
}

TEST(SessionTest, ShutdownDuringAStalledHandshakeClosesAtOnce) {
  SessionHarness h;
  auto creds = tls::test_util::make_self_signed("ec");
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  ASSERT_EQ(SSL_CTX_use_certificate(context->native_handle(), creds.cert.get()), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(context->native_handle(), creds.key.get()), 1);
  Client& c = h.start(context);
  ehlo(c);
  ASSERT_EQ(c.command("STARTTLS"), "220 2.0.0 SMTP server ready\r\n");
  // The client never starts the handshake; the default handshake timeout is a minute.
  std::this_thread::sleep_for(50ms);
  auto started = std::chrono::steady_clock::now();
  h.on_session_thread([&h] { h.session->request_shutdown(); });
  EXPECT_TRUE(c.at_eof());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_TRUE(h.wait_ended());
}

TEST(SessionTest, BdatIsRefusedAndClosesTheConnection) {
  SessionHarness h;
  Client& c = h.start();
  ehlo(c);
  EXPECT_EQ(c.command("BDAT 10 LAST"), "421 4.5.0 CHUNKING is not offered; closing connection\r\n");
  EXPECT_TRUE(c.at_eof());
}

TEST(SessionTest, ClientDisconnectEndsTheSessionAndIsLogged) {
  SessionHarness h;
  Client& c = h.start();
  ehlo(c);
  c.close();
  ASSERT_TRUE(h.wait_ended());
  std::string log = h.protocol_log();
  EXPECT_NE(log.find(",+,,"), std::string::npos) << log;
  EXPECT_NE(log.find(",<,EHLO client.example,"), std::string::npos) << log;
  EXPECT_NE(log.find(",-,,Remote"), std::string::npos) << log;
}

TEST(SessionTest, NonAsciiSenderNeedsSmtputf8) {
  SessionHarness h;
  Client& c = h.start();
  ehlo(c);
  EXPECT_EQ(c.command("MAIL FROM:<j\xc3\xb6rg@client.example>").substr(0, 10), "553 5.6.7 ");
  EXPECT_EQ(c.command("MAIL FROM:<j\xc3\xb6rg@client.example> SMTPUTF8"), sender_ok("j\xc3\xb6rg@client.example"));
  EXPECT_EQ(c.command("RCPT TO:<b\xc3\xbcro@example.org>"), recipient_ok("b\xc3\xbcro@example.org"));
  EXPECT_EQ(c.command("DATA"), kStartData);
  c.send("hi\r\n.\r\n");
  std::string id = queued_id(c.reply());
  ASSERT_FALSE(id.empty());
  auto envelope = h.spool->load_envelope(id);
  ASSERT_TRUE(envelope);
  EXPECT_TRUE(envelope->smtputf8);
  EXPECT_EQ(envelope->mail_from, "j\xc3\xb6rg@client.example");
  auto message = h.spool->load_message(id);
  ASSERT_TRUE(message);
  EXPECT_NE(message->find("\twith UTF8SMTP\r\n"), std::string::npos) << *message;
}

TEST(SessionTest, PostmasterWithoutDomainIsOurs) {
  SessionHarness h;
  Client& c = h.start();
  ehlo(c);
  ASSERT_EQ(c.command("MAIL FROM:<>"), sender_ok(""));
  EXPECT_EQ(c.command("RCPT TO:<Postmaster>"), recipient_ok("Postmaster@example.org"));
}

TEST(SessionTest, OversizedMessageGets552AfterItsEnd) {
  SessionHarness h;
  h.config.limits.max_message_size = 10;
  Client& c = h.start();
  ASSERT_EQ(c.reply(), kGreeting);
  ASSERT_NE(c.command("EHLO client.example").find("\r\n250-SIZE 10\r\n"), std::string::npos);
  std::string reply = send_message(c, "a@client.example", {"bob@example.org"}, "0123456789abcdef\r\n.\r\n");
  EXPECT_EQ(reply, "552 5.3.4 Message size exceeds fixed maximum message size (10 octets)\r\n");
  EXPECT_TRUE(h.spool->list().empty());
  EXPECT_EQ(c.command("NOOP"), "250 2.0.0 OK\r\n");
}

TEST(SessionTest, RefuseSendsTheReplyAndCloses) {
  SessionHarness h;
  h.refusal = smtp::make_reply(421, "4.3.2", "Too many connections, try again later");
  Client& c = h.start();
  EXPECT_EQ(c.reply(), "421 4.3.2 Too many connections, try again later\r\n");
  EXPECT_TRUE(c.at_eof());
  ASSERT_TRUE(h.wait_ended());
  std::string log = h.protocol_log();
  EXPECT_NE(log.find(",>,\"421 4.3.2 Too many connections, try again later\","), std::string::npos) << log;
  EXPECT_NE(log.find(",-,,Local"), std::string::npos) << log;
}

}  // namespace
}  // namespace sluice::inbound
