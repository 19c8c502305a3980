// SMTP AUTH in the inbound session: every RFC 4954 reply, the per-user rules, and what the logs
// keep of it. The users are a fake Authenticator; the users file has its own tests.
#include <gtest/gtest.h>
#include <asio/ssl/context.hpp>

#include <chrono>
#include <map>
#include <string>

#include "base/base64.h"
#include "inbound/session.h"
#include "inbound/session_test_util.h"
#include "metrics/metrics_test_util.h"
#include "tls/handshake_test_util.h"

namespace sluice::inbound {
namespace {

using namespace std::chrono_literals;
using test_util::Client;
using test_util::SessionHarness;

constexpr std::string_view kPassword = "s3cret-Pa55";

std::string plain(std::string_view user, std::string_view password, std::string_view authzid = "") {
  std::string message(authzid);
  message += '\0';
  message += user;
  message += '\0';
  message += password;
  return base64_encode(message);
}

/// Users with their passwords in memory; counts the checks it was asked for.
class FakeAuthenticator : public Authenticator {
 public:
  void add(auth::User user, std::string password) {
    const std::string name = user.name;
    users_[name] = {std::make_shared<const auth::User>(std::move(user)), std::move(password)};
  }
  asio::awaitable<std::shared_ptr<const auth::User>> verify(const std::string& name, const std::string& password,
                                                            const asio::any_io_executor&) override {
    ++checks;
    auto found = users_.find(name);
    if (found == users_.end() || found->second.second != password) co_return nullptr;
    co_return found->second.first;
  }
  int checks = 0;

 private:
  std::map<std::string, std::pair<std::shared_ptr<const auth::User>, std::string>> users_;
};

auth::User user(std::string name, std::vector<std::string> senders, bool relay = true) {
  auth::User u;
  u.name = std::move(name);
  u.allowed_senders = std::move(senders);
  u.may_relay = relay;
  return u;
}

/// A harness whose connector has auth, with users "scanner" (may send as *@example.org, may not
/// relay) and "app" (app@example.org and *@partner.example, may relay); plaintext AUTH allowed
/// unless `plaintext` is false (TLS is tested separately).
struct AuthHarness {
  explicit AuthHarness(bool plaintext = true) {
    users.add(user("scanner", {"*@example.org"}, false), std::string(kPassword));
    users.add(user("app", {"app@example.org", "*@partner.example"}), "app-password");
    h.connector().auth = true;
    h.connector().allow_plaintext_auth = plaintext;
    h.connector().relay = config::RelayPermission::Authenticated;
    h.authenticator = &users;
    h.auth_penalty = &penalty;
    h.user_rates = &rates;
  }
  Client& start(std::shared_ptr<asio::ssl::context> tls = nullptr) {
    Client& c = h.start(std::move(tls));
    EXPECT_EQ(c.reply().substr(0, 4), "220 ");
    return c;
  }
  /// EHLO, and its reply.
  std::string ehlo(Client& c) { return c.command("EHLO client.example"); }

  FakeAuthenticator users;
  AuthPenalty penalty{AuthPenalty::Schedule{.base = 200ms, .max = 400ms, .memory = 60s}};
  UserRates rates;
  SessionHarness h;
};

const std::string kSuccess = "235 2.7.0 Authentication successful\r\n";
const std::string kInvalid = "535 5.7.8 Authentication credentials invalid\r\n";

TEST(SessionAuth, EhloOffersAuthOnlyAfterStartTlsUnlessPlaintextIsAllowed) {
  AuthHarness a(false);
  auto creds = tls::test_util::make_self_signed("ec");
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  ASSERT_EQ(SSL_CTX_use_certificate(context->native_handle(), creds.cert.get()), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(context->native_handle(), creds.key.get()), 1);
  Client& c = a.start(context);
  std::string before = a.ehlo(c);
  EXPECT_EQ(before.find("AUTH"), std::string::npos) << before;
  EXPECT_EQ(c.command("AUTH PLAIN " + plain("scanner", kPassword)),
            "538 5.7.11 Encryption required for requested authentication mechanism\r\n");
  EXPECT_EQ(c.command("AUTH LOGIN"), "538 5.7.11 Encryption required for requested authentication mechanism\r\n");
  EXPECT_EQ(a.users.checks, 0);
  ASSERT_EQ(c.command("STARTTLS"), "220 2.0.0 SMTP server ready\r\n");
  tls::test_util::CtxPtr client_context(SSL_CTX_new(TLS_client_method()));
  ASSERT_TRUE(c.start_tls(client_context.get()));
  std::string after = a.ehlo(c);
  EXPECT_EQ(after.substr(after.size() - 22), "250 AUTH PLAIN LOGIN\r\n") << after;
  EXPECT_EQ(c.command("AUTH PLAIN " + plain("scanner", kPassword)), kSuccess);
  EXPECT_EQ(c.command("MAIL FROM:<scan@example.org>"), "250 2.1.0 Sender <scan@example.org> OK\r\n");
  EXPECT_EQ(c.command("RCPT TO:<bob@example.org>"), "250 2.1.5 Recipient <bob@example.org> OK\r\n");
  EXPECT_EQ(c.command("DATA"), "354 Start mail input; end with <CRLF>.<CRLF>\r\n");
  c.send("Subject: scan\r\n\r\npage 1\r\n.\r\n");
  const std::string queued = c.reply();
  ASSERT_EQ(queued.substr(0, 10), "250 2.6.0 ") << queued;
  auto message = a.h.spool->load_message(queued.substr(10, 16));
  ASSERT_TRUE(message);
  EXPECT_NE(message->find("\twith ESMTPSA (version=TLS1_3"), std::string::npos) << *message;
  EXPECT_NE(message->find("\r\n\t(authenticated as \"scanner\")\r\n"), std::string::npos) << *message;
}

TEST(SessionAuth, PlainWithInitialResponseAndTheProtocolLogKeepsNoSecret) {
  AuthHarness a;
  Client& c = a.start();
  std::string ehlo = a.ehlo(c);
  EXPECT_NE(ehlo.find("250-AUTH PLAIN LOGIN\r\n"), std::string::npos) << ehlo;
  const std::string response = plain("scanner", kPassword);
  EXPECT_EQ(c.command("AUTH PLAIN " + response), kSuccess);
  EXPECT_EQ(c.command("QUIT").substr(0, 4), "221 ");
  ASSERT_TRUE(a.h.wait_ended());
  const std::string log = a.h.protocol_log();
  EXPECT_NE(log.find(",<,AUTH PLAIN ****,"), std::string::npos) << log;
  EXPECT_NE(log.find(",*,scanner,authenticated"), std::string::npos) << log;
  EXPECT_EQ(log.find(response), std::string::npos) << log;
  EXPECT_EQ(log.find(kPassword), std::string::npos) << log;
}

TEST(SessionAuth, PlainWithAnEmptyChallenge) {
  AuthHarness a;
  Client& c = a.start();
  a.ehlo(c);
  EXPECT_EQ(c.command("auth plain"), "334 \r\n");  // RFC 4954 4: the space is there
  EXPECT_EQ(c.command(plain("scanner", kPassword)), kSuccess);
}

TEST(SessionAuth, LoginAsksForUserAndPasswordInBase64) {
  AuthHarness a;
  Client& c = a.start();
  a.ehlo(c);
  EXPECT_EQ(c.command("AUTH LOGIN"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(c.command(base64_encode("app")), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(c.command(base64_encode("app-password")), kSuccess);
  EXPECT_EQ(c.command("QUIT").substr(0, 4), "221 ");
  ASSERT_TRUE(a.h.wait_ended());
  const std::string log = a.h.protocol_log();
  EXPECT_NE(log.find(",<,AUTH LOGIN,"), std::string::npos) << log;
  EXPECT_NE(log.find(",>,334 VXNlcm5hbWU6,"), std::string::npos) << log;
  EXPECT_NE(log.find(",<,****,"), std::string::npos) << log;
  EXPECT_EQ(log.find(base64_encode("app-password")), std::string::npos) << log;
  EXPECT_EQ(log.find("app-password"), std::string::npos) << log;
  EXPECT_EQ(log.find(base64_encode("app")), std::string::npos) << log;
}

TEST(SessionAuth, LoginWithTheUserAsInitialResponse) {
  AuthHarness a;
  Client& c = a.start();
  a.ehlo(c);
  EXPECT_EQ(c.command("AUTH LOGIN " + base64_encode("app")), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(c.command(base64_encode("app-password")), kSuccess);
}

TEST(SessionAuth, LoginOnlyConnectorOffersAndTakesNothingElse) {
  AuthHarness a;
  a.h.connector().auth_mechanisms = {config::ReceiveAuthMechanism::Login};
  Client& c = a.start();
  const std::string ehlo = a.ehlo(c);
  EXPECT_NE(ehlo.find("250-AUTH LOGIN\r\n"), std::string::npos) << ehlo;
  EXPECT_EQ(ehlo.find("PLAIN"), std::string::npos) << ehlo;
  // Right credentials, but a mechanism this connector does not offer: refused before any check.
  EXPECT_EQ(c.command("AUTH PLAIN " + plain("scanner", kPassword)),
            "504 5.5.4 Unrecognized authentication mechanism; this server offers LOGIN\r\n");
  EXPECT_EQ(c.command("AUTH PLAIN"), "504 5.5.4 Unrecognized authentication mechanism; this server offers LOGIN\r\n");
  EXPECT_EQ(a.users.checks, 0);
  EXPECT_EQ(c.command("AUTH LOGIN " + base64_encode("app")), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(c.command(base64_encode("app-password")), kSuccess);
}

TEST(SessionAuth, PlainOnlyConnectorRefusesLogin) {
  AuthHarness a;
  a.h.connector().auth_mechanisms = {config::ReceiveAuthMechanism::Plain};
  Client& c = a.start();
  const std::string ehlo = a.ehlo(c);
  EXPECT_NE(ehlo.find("250-AUTH PLAIN\r\n"), std::string::npos) << ehlo;
  EXPECT_EQ(ehlo.find("LOGIN"), std::string::npos) << ehlo;
  EXPECT_EQ(c.command("AUTH LOGIN"), "504 5.5.4 Unrecognized authentication mechanism; this server offers PLAIN\r\n");
  EXPECT_EQ(c.command("AUTH PLAIN " + plain("scanner", kPassword)), kSuccess);
}

TEST(SessionAuth, MechanismsAreOfferedInTheConfiguredOrder) {
  AuthHarness a;
  a.h.connector().auth_mechanisms = {config::ReceiveAuthMechanism::Login, config::ReceiveAuthMechanism::Plain};
  Client& c = a.start();
  const std::string ehlo = a.ehlo(c);
  EXPECT_NE(ehlo.find("250-AUTH LOGIN PLAIN\r\n"), std::string::npos) << ehlo;
  EXPECT_EQ(c.command("AUTH CRAM-MD5"),
            "504 5.5.4 Unrecognized authentication mechanism; this server offers LOGIN and PLAIN\r\n");
}

TEST(SessionAuth, SequenceErrorsGet503) {
  AuthHarness a;
  Client& c = a.start();
  EXPECT_EQ(c.command("AUTH PLAIN " + plain("scanner", kPassword)), "503 5.5.1 Send EHLO first\r\n");
  EXPECT_EQ(c.command("HELO client.example").substr(0, 4), "250 ");
  EXPECT_EQ(c.command("AUTH PLAIN " + plain("scanner", kPassword)), "503 5.5.1 Send EHLO first\r\n");
  a.ehlo(c);
  EXPECT_EQ(c.command("MAIL FROM:<>"), "250 2.1.0 Sender <> OK\r\n");
  EXPECT_EQ(c.command("AUTH PLAIN " + plain("scanner", kPassword)),
            "503 5.5.1 AUTH not permitted during a mail transaction\r\n");
  EXPECT_EQ(c.command("RSET"), "250 2.0.0 Resetting\r\n");
  EXPECT_EQ(c.command("AUTH PLAIN " + plain("scanner", kPassword)), kSuccess);
  EXPECT_EQ(c.command("AUTH PLAIN " + plain("app", "app-password")), "503 5.5.1 Already authenticated\r\n");
  EXPECT_EQ(a.users.checks, 1);
}

TEST(SessionAuth, MalformedExchangesGetTheirRfc4954Replies) {
  AuthHarness a;
  Client& c = a.start();
  a.ehlo(c);
  EXPECT_EQ(c.command("AUTH CRAM-MD5"),
            "504 5.5.4 Unrecognized authentication mechanism; this server offers PLAIN and LOGIN\r\n");
  EXPECT_EQ(c.command("AUTH"),
            "504 5.5.4 Unrecognized authentication mechanism; this server offers PLAIN and LOGIN\r\n");
  EXPECT_EQ(c.command("AUTH PLAIN not*base64"), "501 5.5.2 Cannot decode the response (it is not base64)\r\n");
  EXPECT_EQ(c.command("AUTH PLAIN " + plain("a", "b") + " extra"),
            "501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n");
  // "=" is an empty initial response: no PLAIN message at all.
  EXPECT_EQ(c.command("AUTH PLAIN ="), "501 5.5.2 Malformed PLAIN response (authzid NUL authcid NUL password)\r\n");
  EXPECT_EQ(c.command("AUTH PLAIN " + base64_encode("no-nul-at-all")),
            "501 5.5.2 Malformed PLAIN response (authzid NUL authcid NUL password)\r\n");
  EXPECT_EQ(c.command("AUTH LOGIN"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(c.command("*"), "501 5.0.0 Authentication cancelled\r\n");
  EXPECT_EQ(c.command("AUTH LOGIN"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(c.command(base64_encode("app")), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(c.command("YWJj="), "501 5.5.2 Cannot decode the response (it is not base64)\r\n");
  EXPECT_EQ(c.command("AUTH PLAIN"), "334 \r\n");
  EXPECT_EQ(c.command(std::string(13000, 'A')),
            "500 5.5.6 Authentication exchange line is too long (the limit is 12288 octets)\r\n");
  EXPECT_EQ(a.users.checks, 0);
  // Still usable: none of that was a failed authentication.
  EXPECT_EQ(c.command("AUTH PLAIN " + plain("app", "app-password")), kSuccess);
}

TEST(SessionAuth, AnInitialResponseMayBeLongerThanACommandLine) {
  AuthHarness a;
  Client& c = a.start();
  a.ehlo(c);
  const std::string long_password(3000, 'p');
  EXPECT_EQ(c.command("AUTH PLAIN " + plain("app", long_password)), kInvalid);
  EXPECT_EQ(c.command("NOOP " + std::string(600, 'x')), "500 5.5.2 Line too long (the limit is 512 octets)\r\n");
  EXPECT_EQ(c.command("AUTH PLAIN " + std::string(13000, 'A')),
            "500 5.5.2 Line too long (the limit is 512 octets)\r\n");
}

TEST(SessionAuth, ConnectorWithoutAuthAnswers502) {
  SessionHarness h;
  Client& c = h.start();
  ASSERT_EQ(c.reply().substr(0, 4), "220 ");
  std::string ehlo = c.command("EHLO client.example");
  EXPECT_EQ(ehlo.find("AUTH"), std::string::npos);
  EXPECT_EQ(c.command("AUTH PLAIN " + plain("scanner", kPassword)),
            "502 5.5.1 AUTH not available on this connector\r\n");
  EXPECT_EQ(c.command("MAIL FROM:<a@client.example> AUTH=<>"), "555 5.5.4 Unsupported MAIL parameter AUTH\r\n");
}

TEST(SessionAuth, WrongCredentialsGet535ThenTheSessionCloses) {
  AuthHarness a;
  const std::string failures =
      "sluice_auth_failures_total{connector=\"" + a.h.connector().name + "\",mechanism=\"PLAIN\"}";
  const double failures_before = metrics::test_util::series_value(failures);
  Client& c = a.start();
  a.ehlo(c);
  EXPECT_EQ(c.command("AUTH PLAIN " + plain("scanner", "wrong")), kInvalid);
  EXPECT_EQ(c.command("AUTH PLAIN " + plain("nobody", kPassword)), kInvalid);
  // Another identity than the user's own is not offered, even with the right password.
  EXPECT_EQ(c.command("AUTH PLAIN " + plain("scanner", kPassword, "app")), kInvalid);
  EXPECT_EQ(c.reply(), "421 4.7.0 mx.test.example Too many authentication failures, closing connection\r\n");
  EXPECT_TRUE(c.at_eof());
  ASSERT_TRUE(a.h.wait_ended());
  const std::string log = a.h.protocol_log();
  EXPECT_NE(log.find(",*,scanner,Inbound AUTH PLAIN failed because of LogonDenied"), std::string::npos) << log;
  EXPECT_NE(log.find(",*,nobody,Inbound AUTH PLAIN failed because of LogonDenied"), std::string::npos) << log;
  EXPECT_EQ(log.find("wrong"), std::string::npos) << log;
  EXPECT_EQ(log.find(kPassword), std::string::npos) << log;
  EXPECT_EQ(metrics::test_util::series_value(failures) - failures_before, 3);
}

TEST(SessionAuth, MaxAuthFailuresIsTheConnectors) {
  AuthHarness a;
  a.h.connector().max_auth_failures = 1;
  Client& c = a.start();
  a.ehlo(c);
  EXPECT_EQ(c.command("AUTH LOGIN " + base64_encode("app")), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(c.command(base64_encode("wrong")), kInvalid);
  EXPECT_EQ(c.reply(), "421 4.7.0 mx.test.example Too many authentication failures, closing connection\r\n");
  EXPECT_TRUE(c.at_eof());
}

TEST(SessionAuth, RepeatedFailuresFromAnAddressAreAnsweredLaterWithoutHoldingUpOthers) {
  AuthHarness a;
  a.h.connector().max_auth_failures = 5;
  Client& c = a.start();
  a.ehlo(c);
  auto timed = [&](std::string_view line) {
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(c.command(line), kInvalid);
    return std::chrono::steady_clock::now() - start;
  };
  EXPECT_LT(timed("AUTH PLAIN " + plain("scanner", "x1")), 150ms);  // a first mistake is not punished
  EXPECT_GE(timed("AUTH PLAIN " + plain("scanner", "x2")), 200ms);
  // While this session waits, the session thread is free for others.
  std::atomic<bool> ran{false};
  c.send("AUTH PLAIN " + plain("scanner", "x3") + "\r\n");
  std::this_thread::sleep_for(50ms);
  a.h.on_session_thread([&ran] { ran = true; });
  const auto start = std::chrono::steady_clock::now();
  while (!ran && std::chrono::steady_clock::now() - start < 300ms) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(ran);
  EXPECT_EQ(c.reply(), kInvalid);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);  // 400 ms in all, 50 of them before
  // A success forgets the address's failures.
  EXPECT_EQ(c.command("AUTH PLAIN " + plain("scanner", kPassword)), kSuccess);
  EXPECT_EQ(a.penalty.tracked(), 0u);
}

TEST(SessionAuth, AuthenticatedUsersSendAsTheirSendersAndRelayPerTheirEntry) {
  AuthHarness a;
  Client& c = a.start();
  a.ehlo(c);
  // Before AUTH the connector relays nobody.
  EXPECT_EQ(c.command("MAIL FROM:<someone@remote.example>"), "250 2.1.0 Sender <someone@remote.example> OK\r\n");
  EXPECT_EQ(c.command("RCPT TO:<x@remote.example>"),
            "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain\r\n");
  EXPECT_EQ(c.command("RSET"), "250 2.0.0 Resetting\r\n");
  EXPECT_EQ(c.command("AUTH PLAIN " + plain("scanner", kPassword)), kSuccess);
  EXPECT_EQ(c.command("MAIL FROM:<someone@remote.example>"),
            "550 5.7.1 Client does not have permissions to send as this sender\r\n");
  EXPECT_EQ(c.command("MAIL FROM:<scan@example.org> AUTH=<>"), "250 2.1.0 Sender <scan@example.org> OK\r\n");
  // relay=no: accepted domains only.
  EXPECT_EQ(c.command("RCPT TO:<x@remote.example>"),
            "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain\r\n");
  EXPECT_EQ(c.command("RCPT TO:<bob@example.org>"), "250 2.1.5 Recipient <bob@example.org> OK\r\n");
}

TEST(SessionAuth, AUserThatMayRelayRelays) {
  AuthHarness a;
  Client& c = a.start();
  a.ehlo(c);
  EXPECT_EQ(c.command("AUTH PLAIN " + plain("app", "app-password")), kSuccess);
  EXPECT_EQ(c.command("MAIL FROM:<alerts@partner.example>"), "250 2.1.0 Sender <alerts@partner.example> OK\r\n");
  EXPECT_EQ(c.command("RCPT TO:<x@remote.example>"), "250 2.1.5 Recipient <x@remote.example> OK\r\n");
}

TEST(SessionAuth, ARateLimitedUserGets450OnceItsWindowIsFull) {
  AuthHarness a;
  auth::User limited = user("limited", {"*@example.org"});
  limited.rate = auth::RateLimit{2, std::chrono::seconds(3600)};
  a.users.add(limited, "pw");
  Client& c = a.start();
  a.ehlo(c);
  EXPECT_EQ(c.command("AUTH PLAIN " + plain("limited", "pw")), kSuccess);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(c.command("MAIL FROM:<a@example.org>"), "250 2.1.0 Sender <a@example.org> OK\r\n");
    EXPECT_EQ(c.command("RCPT TO:<bob@example.org>").substr(0, 4), "250 ");
    EXPECT_EQ(c.command("DATA").substr(0, 4), "354 ");
    EXPECT_EQ(c.command("Subject: n\r\n\r\nx\r\n.").substr(0, 10), "250 2.6.0 ");
  }
  EXPECT_EQ(c.command("MAIL FROM:<a@example.org>"),
            "450 4.7.1 Message rate limit exceeded for user limited (2 messages per 3600s); try again later\r\n");
}

TEST(SessionAuth, AUsersRewritesComeFirstAndMayMakeASenderItsOwn) {
  AuthHarness a;
  auth::User printer = user("printer", {"scanner@example.org"}, false);
  printer.rewrite_senders = {{"*@printer.local", "scanner@example.org"}};
  a.users.add(printer, "pw");
  a.h.connector().rewrite_senders = {{"*@printer.local", "other@example.org"}};
  Client& c = a.start();
  a.ehlo(c);
  EXPECT_EQ(c.command("AUTH PLAIN " + plain("printer", "pw")), kSuccess);
  EXPECT_EQ(c.command("MAIL FROM:<root@printer.local>"), "250 2.1.0 Sender <root@printer.local> OK\r\n");
  EXPECT_EQ(c.command("RCPT TO:<bob@example.org>").substr(0, 4), "250 ");
  EXPECT_EQ(c.command("DATA").substr(0, 4), "354 ");
  const std::string queued = c.command("From: root@printer.local\r\nSubject: scan\r\n\r\nx\r\n.");
  ASSERT_EQ(queued.substr(0, 10), "250 2.6.0 ") << queued;
  auto envelope = a.h.spool->load_envelope(queued.substr(10, 16));
  ASSERT_TRUE(envelope);
  EXPECT_EQ(envelope->mail_from, "scanner@example.org");  // the user's entry, not the connector's
  // A sender neither allowed nor rewritten to an allowed one is still refused.
  EXPECT_EQ(c.command("MAIL FROM:<root@elsewhere.example>"),
            "550 5.7.1 Client does not have permissions to send as this sender\r\n");
}

TEST(UserRatesTest, SlidingWindowPerUser) {
  auto now = std::chrono::steady_clock::time_point{} + 10h;
  UserRates rates([&now] { return now; });
  auth::User u = user("u", {});
  u.rate = auth::RateLimit{2, std::chrono::seconds(60)};
  const auth::User unlimited = user("free", {});
  EXPECT_TRUE(rates.allows(u));
  rates.queued(u);
  now += 30s;
  rates.queued(u);
  EXPECT_FALSE(rates.allows(u));
  for (int i = 0; i < 5; ++i) rates.queued(unlimited);
  EXPECT_TRUE(rates.allows(unlimited));
  now += 31s;  // the first is out of the window, the second not
  EXPECT_TRUE(rates.allows(u));
  rates.queued(u);
  EXPECT_FALSE(rates.allows(u));
}

TEST(AuthPenaltyTest, GrowsPerAddressAndIsForgotten) {
  auto now = std::chrono::steady_clock::time_point{} + 10h;
  AuthPenalty penalty(AuthPenalty::Schedule{.base = 1000ms, .max = 5000ms, .memory = 600s}, [&now] { return now; });
  const auto a = asio::ip::make_address("192.0.2.1");
  const auto b = asio::ip::make_address("192.0.2.2");
  EXPECT_EQ(penalty.failed(a), 0ms);
  EXPECT_EQ(penalty.failed(a), 1000ms);
  EXPECT_EQ(penalty.failed(a), 2000ms);
  EXPECT_EQ(penalty.failed(a), 4000ms);
  EXPECT_EQ(penalty.failed(a), 5000ms);
  EXPECT_EQ(penalty.failed(a), 5000ms);
  EXPECT_EQ(penalty.failed(b), 0ms);  // per address
  now += 600s;
  EXPECT_EQ(penalty.failed(a), 0ms);  // forgotten after its memory
  EXPECT_EQ(penalty.failed(a), 1000ms);
  penalty.succeeded(a);
  EXPECT_EQ(penalty.failed(a), 0ms);
}

}  // namespace
}  // namespace sluice::inbound
