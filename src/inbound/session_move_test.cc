// XMOVE on the receiving side (`sluice queue move`): offered only with accept_moved_mail to a
// client that may relay, its parameters carried into the envelope, the content stored without a
// Received: of ours, and its refusals.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "inbound/session.h"
#include "inbound/session_test_util.h"
#include "net/cidr.h"

namespace sluice::inbound {
namespace {

using test_util::Client;
using test_util::kGreeting;
using test_util::kStartData;
using test_util::SessionHarness;

void let_loopback_move(SessionHarness& h) {
  h.connector().relay = config::RelayPermission::Ranges;
  h.connector().relay_from = {*net::Cidr::parse("127.0.0.0/8")};
  h.connector().accept_moved_mail = true;
}

bool offers_xmove(const std::string& ehlo) {
  return ehlo.find("250-XMOVE\r\n") != std::string::npos || ehlo.find("250 XMOVE\r\n") != std::string::npos;
}

TEST(SessionMove, StoresTheMessageWithItsHistoryAndWithoutOurReceivedLine) {
  SessionHarness h;
  let_loopback_move(h);
  Client& c = h.start();
  ASSERT_EQ(c.reply(), kGreeting);
  ASSERT_TRUE(offers_xmove(c.command("EHLO a.example")));
  EXPECT_EQ(c.command("MAIL FROM:<alice@client.example> XMOVE-ARRIVED=2026-12-01T10:00:00.5Z XMOVE-ID=0005F1A2B3C40001 "
                      "XMOVE-WARNED"),
            "250 2.1.0 Sender <alice@client.example> OK\r\n");
  EXPECT_EQ(c.command("RCPT TO:<bob@remote.example> XMOVE-STATE=deferred XMOVE-ATTEMPTS=2 "
                      "XMOVE-LAST=2026-12-01T11:00:00Z XMOVE-REPLY=421+204.4.2+20Connection+20dropped"),
            "250 2.1.5 Recipient <bob@remote.example> OK\r\n");
  EXPECT_EQ(c.command("RCPT TO:<carol@remote.example>"), "250 2.1.5 Recipient <carol@remote.example> OK\r\n");
  EXPECT_EQ(c.command("DATA"), kStartData);
  c.send("Received: from x by a.example\r\nSubject: s\r\n\r\nx\r\n.\r\n");
  const std::string reply = c.reply();
  ASSERT_EQ(reply.rfind("250 2.6.0 ", 0), 0u) << reply;
  const std::string id = reply.substr(10, 16);
  auto envelope = h.spool->load_envelope(id);
  ASSERT_TRUE(envelope);
  EXPECT_EQ(queue::format_utc_time(envelope->received), "2026-12-01T10:00:00.500000Z");
  EXPECT_EQ(envelope->moved_from, "0005F1A2B3C40001");
  EXPECT_TRUE(envelope->delay_warning_sent);
  ASSERT_EQ(envelope->recipients.size(), 2u);
  const auto& bob = envelope->recipients[0];
  EXPECT_EQ(bob.state, queue::Recipient::State::Deferred);
  EXPECT_EQ(bob.attempts, 2);
  EXPECT_EQ(queue::format_utc_time(bob.last_attempt), "2026-12-01T11:00:00Z");
  EXPECT_EQ(bob.last_reply.one_line(), "421 4.4.2 Connection dropped");
  EXPECT_EQ(envelope->recipients[1].state, queue::Recipient::State::Pending);  // no state given: pending
  EXPECT_EQ(envelope->recipients[1].attempts, 0);
  EXPECT_EQ(h.spool->load_message(id), "Received: from x by a.example\r\nSubject: s\r\n\r\nx\r\n");
  EXPECT_NE(h.protocol_log().find("MOVE: message 0005F1A2B3C40001 of the client stored as " + id), std::string::npos)
      << h.protocol_log();
}

TEST(SessionMove, RefusesBadOrIncompleteParameters) {
  SessionHarness h;
  let_loopback_move(h);
  Client& c = h.start();
  ASSERT_EQ(c.reply(), kGreeting);
  c.command("EHLO a.example");
  EXPECT_EQ(c.command("MAIL FROM:<alice@client.example> XMOVE-ID=ABC"),
            "501 5.5.4 A moved message needs XMOVE-ARRIVED and XMOVE-ID\r\n");
  EXPECT_EQ(c.command("MAIL FROM:<alice@client.example> XMOVE-ARRIVED=soon XMOVE-ID=ABC"),
            "501 5.5.4 XMOVE-ARRIVED must be a UTC time such as 2026-12-08T03:41:02Z\r\n");
  // An ordinary transaction takes no XMOVE parameter at RCPT.
  EXPECT_EQ(c.command("MAIL FROM:<alice@client.example>"), "250 2.1.0 Sender <alice@client.example> OK\r\n");
  EXPECT_EQ(c.command("RCPT TO:<bob@remote.example> XMOVE-ATTEMPTS=1"),
            "555 5.5.4 Unsupported RCPT parameter XMOVE-ATTEMPTS\r\n");
  c.command("RSET");
  EXPECT_EQ(c.command("MAIL FROM:<alice@client.example> XMOVE-ARRIVED=2026-12-01T10:00:00Z XMOVE-ID=ABC"),
            "250 2.1.0 Sender <alice@client.example> OK\r\n");
  EXPECT_EQ(c.command("RCPT TO:<bob@remote.example> XMOVE-STATE=delivered"),
            "501 5.5.4 XMOVE-STATE must be pending or deferred\r\n");
}

TEST(SessionMove, NotOfferedWithoutTheSettingOrToAClientThatMayNotRelay) {
  for (bool setting : {false, true}) {
    SessionHarness h;
    let_loopback_move(h);
    h.connector().accept_moved_mail = setting;
    if (setting) h.connector().relay_from = {*net::Cidr::parse("10.0.0.0/8")};
    Client& c = h.start();
    ASSERT_EQ(c.reply(), kGreeting);
    const std::string ehlo = c.command("EHLO a.example");
    EXPECT_FALSE(offers_xmove(ehlo)) << ehlo;
    EXPECT_EQ(c.command("MAIL FROM:<alice@client.example> XMOVE-ARRIVED=2026-12-01T10:00:00Z XMOVE-ID=ABC"),
              "555 5.5.4 Unsupported MAIL parameter XMOVE-ARRIVED\r\n");
  }
}

}  // namespace
}  // namespace sluice::inbound
