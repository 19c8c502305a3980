// Walks the inbound command table from outside: every verb, sent in every state a session can be
// in (ungreeted, greeted, after MAIL, after RCPT; plain, with require_tls, inside TLS), must get
// either its handler's answer or the sequencing refusal written here. The expectations are
// spelled out, not read from the table, so a wrong table entry fails a case.
#include <gtest/gtest.h>
#include <asio/ssl/context.hpp>

#include <array>
#include <memory>
#include <set>
#include <string>

#include "inbound/session.h"
#include "inbound/session_test_util.h"
#include "tls/handshake_test_util.h"

namespace sluice::inbound {
namespace {

using test_util::Client;
using test_util::SessionHarness;

enum State { Connected, Greeted, AfterMail, AfterRcpt, kStates };
const char* const kStateNames[kStates] = {"ungreeted", "after EHLO", "after MAIL", "after RCPT"};

/// A command line and the first line of its reply in each State (plain session, TLS not required).
struct Row {
  std::string line;
  std::array<std::string, kStates> reply;
};

const std::string kHello = "250-mx.test.example Hello [127.0.0.1]";
const std::string kHeloHello = "250 mx.test.example Hello [127.0.0.1]";
const std::string kNeedGreeting = "503 5.5.1 Send EHLO or HELO first";
const std::string kSenderOk = "250 2.1.0 Sender <a@client.example> OK";
const std::string kSenderGiven = "503 5.5.1 Sender already specified";
const std::string kNeedMailRcpt = "503 5.5.1 Need MAIL before RCPT";
const std::string kRecipientOk = "250 2.1.5 Recipient <bob@example.org> OK";
const std::string kNeedMailData = "503 5.5.1 Need MAIL before DATA";
const std::string kNeedRcptData = "503 5.5.1 Need RCPT before DATA";
const std::string kStartDataLine = "354 Start mail input; end with <CRLF>.<CRLF>";
const std::string kDataSyntax = "501 5.5.4 Syntax: DATA";
const std::string kResetLine = "250 2.0.0 Resetting";
const std::string kNoop = "250 2.0.0 OK";
const std::string kBye = "221 2.0.0 mx.test.example Service closing transmission channel";
const std::string kVrfy = "252 2.1.5 Cannot VRFY user, but will accept message and attempt delivery";
const std::string kExpn = "502 5.5.1 EXPN not available";
const std::string kHelp = "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY STARTTLS HELP";
const std::string kStartTlsSyntax = "501 5.5.4 Syntax: STARTTLS";
const std::string kAuth = "502 5.5.1 AUTH not available on this connector";
const std::string kBdat = "421 4.5.0 CHUNKING is not offered; closing connection";
const std::string kUnknown = "500 5.5.2 Command unrecognized";
const std::string kMustStartTls = "451 5.7.3 Must issue a STARTTLS command first";
const std::string kTlsAlready = "503 5.5.1 TLS already active";
const std::string kStartTlsGo = "220 2.0.0 SMTP server ready";

template <typename T>
std::array<std::string, kStates> all(const T& reply) {
  return {reply, reply, reply, reply};
}

/// Every verb of smtp::Verb, and the two that take no argument once more with one. STARTTLS's
/// row is for a session that has a certificate.
const std::vector<Row>& rows() {
  static const std::vector<Row> table = {
      {"EHLO client.example", all(kHello)},
      {"HELO client.example", all(kHeloHello)},
      {"MAIL FROM:<a@client.example>", {kNeedGreeting, kSenderOk, kSenderGiven, kSenderGiven}},
      {"RCPT TO:<bob@example.org>", {kNeedMailRcpt, kNeedMailRcpt, kRecipientOk, kRecipientOk}},
      {"DATA", {kNeedMailData, kNeedMailData, kNeedRcptData, kStartDataLine}},
      {"DATA now", all(kDataSyntax)},
      {"RSET", all(kResetLine)},
      {"NOOP", all(kNoop)},
      {"QUIT", all(kBye)},
      {"VRFY bob", all(kVrfy)},
      {"EXPN staff", all(kExpn)},
      {"HELP", all(kHelp)},
      {"STARTTLS", all(kStartTlsGo)},
      {"STARTTLS now", all(kStartTlsSyntax)},
      {"AUTH PLAIN", all(kAuth)},
      {"BDAT 10 LAST", all(kBdat)},
      {"XYZZY", all(kUnknown)},
  };
  return table;
}

/// Commands a require_tls connector refuses before STARTTLS (RFC 3207 4.2 leaves the others).
const std::set<std::string> kNeedTls = {"MAIL FROM:<a@client.example>",
                                        "RCPT TO:<bob@example.org>",
                                        "DATA",
                                        "DATA now",
                                        "VRFY bob",
                                        "EXPN staff",
                                        "AUTH PLAIN",
                                        "BDAT 10 LAST"};

std::shared_ptr<asio::ssl::context> server_tls() {
  static const auto creds = tls::test_util::make_self_signed("ec");
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX_use_certificate(context->native_handle(), creds.cert.get());
  SSL_CTX_use_PrivateKey(context->native_handle(), creds.key.get());
  return context;
}

std::string first_line(const std::string& reply) { return reply.substr(0, reply.find("\r\n")); }

struct Setting {
  bool require_tls = false;
  bool inside_tls = false;  ///< STARTTLS and the handshake done before the state is reached
};

/// A fresh session brought to `state`, then sent `line`: the first line of its reply.
std::string reply_in(const Setting& setting, State state, const std::string& line) {
  SessionHarness h;
  h.connector().require_tls = setting.require_tls;
  Client& c = h.start(server_tls());
  if (first_line(c.reply()) != "220 mx.test.example ESMTP sluice ready") return "no greeting";
  tls::test_util::CtxPtr client_context(SSL_CTX_new(TLS_client_method()));
  if (setting.inside_tls) {
    if (first_line(c.command("STARTTLS")) != kStartTlsGo) return "STARTTLS refused";
    if (!c.start_tls(client_context.get())) return "handshake failed";
  }
  if (state >= Greeted && first_line(c.command("EHLO client.example")) != kHello) return "EHLO refused";
  if (state >= AfterMail && first_line(c.command("MAIL FROM:<a@client.example>")) != kSenderOk) return "MAIL refused";
  if (state >= AfterRcpt && first_line(c.command("RCPT TO:<bob@example.org>")) != kRecipientOk) return "RCPT refused";
  std::string reply = first_line(c.command(line));
  c.close();
  return reply;
}

TEST(SessionSequence, EveryVerbInEveryStateOfAPlainSession) {
  for (const auto& row : rows())
    for (int state = Connected; state < kStates; ++state) {
      SCOPED_TRACE(row.line + " " + kStateNames[state]);
      EXPECT_EQ(reply_in({}, State(state), row.line), row.reply[state]);
    }
}

TEST(SessionSequence, RequireTlsRefusesTransactionVerbsFirstOfAll) {
  // Without TLS the session cannot get past EHLO, so only the first two states exist.
  for (const auto& row : rows())
    for (int state : {Connected, Greeted}) {
      SCOPED_TRACE(row.line + " " + kStateNames[state]);
      std::string expected = kNeedTls.contains(row.line) ? kMustStartTls : row.reply[state];
      EXPECT_EQ(reply_in({.require_tls = true}, State(state), row.line), expected);
    }
}

TEST(SessionSequence, InsideTlsEverythingButStartTlsIsAsInAPlainSession) {
  for (const auto& row : rows())
    for (int state = Connected; state < kStates; ++state) {
      SCOPED_TRACE(row.line + " " + kStateNames[state]);
      std::string expected = row.line == "STARTTLS" ? kTlsAlready : row.reply[state];
      EXPECT_EQ(reply_in({.require_tls = true, .inside_tls = true}, State(state), row.line), expected);
    }
}

}  // namespace
}  // namespace sluice::inbound
