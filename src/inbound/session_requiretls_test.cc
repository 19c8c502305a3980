// RFC 8689 on the receiving side: REQUIRETLS offered and taken only inside TLS, its syntax, the
// envelope flags it and "TLS-Required: No" leave, and what the receive protocol log says.
#include <gtest/gtest.h>
#include <asio/ssl/context.hpp>

#include <memory>
#include <string>

#include "inbound/session.h"
#include "inbound/session_test_util.h"
#include "tls/handshake_test_util.h"

namespace sluice::inbound {
namespace {

using test_util::Client;
using test_util::kGreeting;
using test_util::kStartData;
using test_util::SessionHarness;

std::shared_ptr<asio::ssl::context> server_context() {
  auto creds = tls::test_util::make_self_signed("ec");
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX_use_certificate(context->native_handle(), creds.cert.get());
  SSL_CTX_use_PrivateKey(context->native_handle(), creds.key.get());
  return context;
}

bool offers_requiretls(const std::string& ehlo_reply) {
  return ehlo_reply.find("250-REQUIRETLS\r\n") != std::string::npos ||
         ehlo_reply.find("250 REQUIRETLS\r\n") != std::string::npos;
}

/// Greets, STARTTLS, greets again; returns the EHLO reply inside TLS ("" when a step failed).
std::string greet_inside_tls(Client& c, tls::test_util::CtxPtr& client_context) {
  if (c.reply() != kGreeting) return "";
  if (offers_requiretls(c.command("EHLO client.example"))) return "REQUIRETLS offered before STARTTLS";
  if (c.command("STARTTLS") != "220 2.0.0 SMTP server ready\r\n") return "";
  client_context.reset(SSL_CTX_new(TLS_client_method()));
  if (!c.start_tls(client_context.get())) return "";
  return c.command("EHLO client.example");
}

/// The queue id of a message sent with `mail` and `content`; "" (and a test failure) otherwise.
std::string send(Client& c, const std::string& mail, const std::string& content) {
  EXPECT_EQ(c.command(mail), "250 2.1.0 Sender <alice@client.example> OK\r\n");
  EXPECT_EQ(c.command("RCPT TO:<bob@example.org>"), "250 2.1.5 Recipient <bob@example.org> OK\r\n");
  EXPECT_EQ(c.command("DATA"), kStartData);
  c.send(content);
  const std::string reply = c.reply();
  const std::string prefix = "250 2.6.0 ";
  if (reply.rfind(prefix, 0) != 0) {
    ADD_FAILURE() << reply;
    return "";
  }
  return reply.substr(prefix.size(), 16);
}

TEST(SessionRequireTls, OfferedOnlyInsideTlsAndCarriedIntoTheEnvelope) {
  SessionHarness h;
  Client& c = h.start(server_context());
  tls::test_util::CtxPtr client_context;
  const std::string ehlo = greet_inside_tls(c, client_context);
  ASSERT_TRUE(offers_requiretls(ehlo)) << ehlo;
  const std::string id = send(c, "MAIL FROM:<alice@client.example> REQUIRETLS", "Subject: s\r\n\r\nx\r\n.\r\n");
  ASSERT_FALSE(id.empty());
  auto envelope = h.spool->load_envelope(id);
  ASSERT_TRUE(envelope);
  EXPECT_TRUE(envelope->requiretls);
  EXPECT_FALSE(envelope->tls_required_no);
  EXPECT_NE(h.protocol_log().find("Message has REQUIRETLS (RFC 8689)"), std::string::npos) << h.protocol_log();

  // The next message of the same session without it is an ordinary one.
  const std::string plain = send(c, "MAIL FROM:<alice@client.example>", "Subject: s\r\n\r\nx\r\n.\r\n");
  ASSERT_FALSE(plain.empty());
  EXPECT_FALSE(h.spool->load_envelope(plain)->requiretls);
}

TEST(SessionRequireTls, RefusedInPlaintextWithAValueOrTwiceAndWhereTheConnectorDoesNotOfferIt) {
  {
    SessionHarness h;
    Client& c = h.start(server_context());
    ASSERT_EQ(c.reply(), kGreeting);
    c.command("EHLO client.example");
    EXPECT_EQ(c.command("MAIL FROM:<alice@client.example> REQUIRETLS"),
              "530 5.7.10 REQUIRETLS requires a TLS session\r\n");
    EXPECT_EQ(c.command("RCPT TO:<bob@example.org>"), "503 5.5.1 Need MAIL before RCPT\r\n");
  }
  {
    SessionHarness h;
    Client& c = h.start(server_context());
    tls::test_util::CtxPtr client_context;
    ASSERT_TRUE(offers_requiretls(greet_inside_tls(c, client_context)));
    EXPECT_EQ(c.command("MAIL FROM:<alice@client.example> REQUIRETLS=YES"), "501 5.5.4 REQUIRETLS takes no value\r\n");
    EXPECT_EQ(c.command("MAIL FROM:<alice@client.example> REQUIRETLS REQUIRETLS"),
              "501 5.5.4 Duplicate parameter REQUIRETLS\r\n");
    EXPECT_EQ(c.command("MAIL FROM:<alice@client.example> requiretls"),
              "250 2.1.0 Sender <alice@client.example> OK\r\n");
  }
  {
    SessionHarness h;
    h.connector().requiretls = false;
    Client& c = h.start(server_context());
    tls::test_util::CtxPtr client_context;
    const std::string ehlo = greet_inside_tls(c, client_context);
    ASSERT_NE(ehlo.find("250 "), std::string::npos) << ehlo;
    EXPECT_FALSE(offers_requiretls(ehlo)) << ehlo;
    EXPECT_EQ(c.command("MAIL FROM:<alice@client.example> REQUIRETLS"),
              "555 5.5.4 Unsupported MAIL parameter REQUIRETLS\r\n");
  }
}

TEST(SessionRequireTls, TlsRequiredNoIsRecordedUnlessTheMessageHasRequireTls) {
  SessionHarness h;
  Client& c = h.start(server_context());
  tls::test_util::CtxPtr client_context;
  ASSERT_TRUE(offers_requiretls(greet_inside_tls(c, client_context)));
  const std::string header = "Subject: s\r\ntls-required:  NO \r\n\r\nx\r\n.\r\n";
  const std::string optional = send(c, "MAIL FROM:<alice@client.example>", header);
  ASSERT_FALSE(optional.empty());
  EXPECT_TRUE(h.spool->load_envelope(optional)->tls_required_no);
  EXPECT_FALSE(h.spool->load_envelope(optional)->requiretls);
  EXPECT_NE(h.protocol_log().find("Message has TLS-Required: No (RFC 8689)"), std::string::npos);
  // RFC 8689 4.1: with REQUIRETLS the field is ignored, and kept in the message as it came.
  const std::string both = send(c, "MAIL FROM:<alice@client.example> REQUIRETLS", header);
  ASSERT_FALSE(both.empty());
  EXPECT_TRUE(h.spool->load_envelope(both)->requiretls);
  EXPECT_FALSE(h.spool->load_envelope(both)->tls_required_no);
  EXPECT_NE(h.spool->load_message(both)->find("tls-required:  NO \r\n"), std::string::npos);
  EXPECT_NE(h.protocol_log().find("TLS-Required: No ignored: the message has REQUIRETLS"), std::string::npos);
  // Another value, or the name in the body, is not the field.
  const std::string other =
      send(c, "MAIL FROM:<alice@client.example>", "TLS-Required: Yes\r\n\r\nTLS-Required: No\r\n.\r\n");
  ASSERT_FALSE(other.empty());
  EXPECT_FALSE(h.spool->load_envelope(other)->tls_required_no);
}

}  // namespace
}  // namespace sluice::inbound
