#include "outbound/smtp_client.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <thread>

#include "base/base64.h"
#include "base/temp_dir_test_util.h"
#include "metrics/metrics_test_util.h"
#include "net/connection.h"
#include "smtp/sasl.h"
#include "tls/certificates.h"
#include "tls/client_context.h"
#include "tls/policy.h"
#include "tls/server_context.h"

namespace sluice::outbound {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;

using sluice::test_util::TempDir;

/// The server end of one connection, blocking, with a receive timeout so that a client that
/// stops talking fails the test instead of hanging it. Records every byte it reads.
class Peer {
 public:
  explicit Peer(tcp::socket socket) : socket_(std::move(socket)) {
    timeval tv{5, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Peer() {
    if (ssl_) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
    }
  }

  /// One line without CRLF; "<eof>" when the client closed or went silent.
  std::string line() {
    for (;;) {
      auto lf = buffer_.find('\n');
      if (lf != std::string::npos) {
        std::string l = buffer_.substr(0, lf + 1);
        buffer_.erase(0, lf + 1);
        transcript += l;
        if (l.size() >= 2 && l[l.size() - 2] == '\r') l.pop_back();
        l.pop_back();
        return l;
      }
      if (!receive()) return "<eof>";
    }
  }

  /// The message data up to and including "\r\n.\r\n" (or ".\r\n" as the first line).
  std::string data() {
    for (;;) {
      std::size_t end = std::string::npos;
      if (buffer_.rfind(".\r\n", 0) == 0)
        end = 3;
      else if (auto p = buffer_.find("\r\n.\r\n"); p != std::string::npos)
        end = p + 5;
      if (end != std::string::npos) {
        std::string d = buffer_.substr(0, end);
        buffer_.erase(0, end);
        transcript += d;
        return d;
      }
      if (!receive()) return "<eof>";
    }
  }

  void send(std::string_view bytes) {
    if (ssl_)
      SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
    else
      ::send(socket_.native_handle(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }

  bool start_tls(SSL_CTX* ctx) {
    ssl_ = SSL_new(ctx);
    SSL_set_fd(ssl_, socket_.native_handle());
    bool ok = SSL_accept(ssl_) == 1;
    if (!ok) {
      SSL_free(ssl_);
      ssl_ = nullptr;
    }
    return ok;
  }

  /// Bytes received and not yet consumed as lines.
  const std::string& pending() const { return buffer_; }
  std::string transcript;

 private:
  bool receive() {
    char chunk[8192];
    int n = ssl_ ? SSL_read(ssl_, chunk, sizeof chunk)
                 : static_cast<int>(::recv(socket_.native_handle(), chunk, sizeof chunk, 0));
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  tcp::socket socket_;
  SSL* ssl_ = nullptr;
  std::string buffer_;
};

/// A scripted SMTP server: each reply configurable, answering commands in order.
struct Responder {
  std::string banner = "220 fake.test ESMTP\r\n";
  std::string ehlo = "250-fake.test Hello\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n";
  std::string ehlo_after_tls;  ///< empty: `ehlo` without STARTTLS lines is not needed, same text
  std::string helo = "250 fake.test\r\n";
  std::string starttls = "220 2.0.0 Ready to start TLS\r\n";
  std::string mail = "250 2.1.0 Sender OK\r\n";
  std::vector<std::string> rcpt;  ///< in order; missing ones get 250
  std::string data = "354 Start mail input\r\n";
  std::string end = "250 2.0.0 Queued as 1234\r\n";
  /// The replies to AUTH and to each line the client sends after a 334.
  std::vector<std::string> auth = {"235 2.7.0 Authentication successful\r\n"};
  SSL_CTX* tls = nullptr;
  bool drop_after_mail = false;
  bool silent_after_banner = false;

  // Filled in while serving.
  std::string pending_after_mail;  ///< what had already arrived when MAIL was read
  std::string message;
  std::vector<std::string> auth_lines;  ///< the AUTH command and each response line after it
  bool tls_ok = false;
  bool tls_failed = false;
};

void serve(Peer& p, Responder& r) {
  p.send(r.banner);
  if (r.silent_after_banner) {
    p.line();
    p.line();  // returns at EOF, when the client gives up
    return;
  }
  std::size_t rcpt_index = 0;
  for (;;) {
    std::string line = p.line();
    if (line == "<eof>") return;
    std::string verb = line.substr(0, line.find(' '));
    for (auto& c : verb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (verb == "EHLO") {
      p.send(r.tls_ok && !r.ehlo_after_tls.empty() ? r.ehlo_after_tls : r.ehlo);
    } else if (verb == "HELO") {
      p.send(r.helo);
    } else if (verb == "STARTTLS") {
      p.send(r.starttls);
      if (r.starttls.rfind("220", 0) == 0) {
        if (!p.start_tls(r.tls)) {
          r.tls_failed = true;
          return;
        }
        r.tls_ok = true;
      }
    } else if (verb == "AUTH") {
      r.auth_lines.push_back(line);
      for (const std::string& reply : r.auth) {
        p.send(reply);
        if (reply.rfind("334", 0) != 0) break;
        r.auth_lines.push_back(p.line());
      }
    } else if (verb == "MAIL") {
      r.pending_after_mail = p.pending();
      if (r.drop_after_mail) return;
      p.send(r.mail);
    } else if (verb == "RCPT") {
      p.send(rcpt_index < r.rcpt.size() ? r.rcpt[rcpt_index] : "250 2.1.5 Recipient OK\r\n");
      ++rcpt_index;
    } else if (verb == "DATA") {
      p.send(r.data);
      if (r.data.rfind("354", 0) == 0) {
        r.message = p.data();
        p.send(r.end);
      }
    } else if (verb == "QUIT") {
      p.send("221 2.0.0 Bye\r\n");
      return;
    } else {
      p.send("500 5.5.2 Command unrecognized\r\n");
    }
  }
}

/// Accepts one connection on 127.0.0.1 and runs a script on it, on its own thread.
class FakeServer {
 public:
  explicit FakeServer(std::function<void(Peer&)> script) : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this, script = std::move(script)] {
      std::error_code ec;
      tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      if (ec) return;
      Peer peer(std::move(socket));
      script(peer);
      std::lock_guard lock(mutex_);
      transcript_ = peer.transcript;
    });
  }
  ~FakeServer() { join(); }
  tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  /// Everything the server read; complete once join() returned.
  std::string transcript() {
    join();
    std::lock_guard lock(mutex_);
    return transcript_;
  }

 private:
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::mutex mutex_;
  std::string transcript_;
};

class SmtpClientTest : public ::testing::Test {
 protected:
  SmtpClientTest() {
    connector.name = "Outbound to test";
    connector.tls = config::OutboundTls::Opportunistic;
    connector.tls_policy = *tls::named_policy("default");
    std::filesystem::create_directories(dir.path() / "log");
    writer = std::make_unique<protocol_log::Writer>(dir.path() / "log", protocol_log::Direction::Send);
    message = "Subject: test\r\n\r\n.hidden line\r\nlast line";
    transaction.mail_from = "alice@onprem.test";
    transaction.recipients = {"bob@cloud.test", "carol@cloud.test"};
    transaction.message = &message;
    settings.timeouts.connect = 3s;
    settings.timeouts.banner = 3s;
    settings.timeouts.command = 3s;
    settings.timeouts.data_init = 3s;
    settings.timeouts.data_block = 3s;
    settings.timeouts.data_term = 3s;
    settings.timeouts.tls_handshake = 3s;
    settings.helo = "onprem.test";
  }

  /// Runs one attempt against `server` with the connector as configured.
  AttemptResult attempt(FakeServer& server, TlsAttempt mode = TlsAttempt::Policy, std::string host = "localhost") {
    context =
        tls::make_client_context(connector.tls_policy, connector.tls == config::OutboundTls::Verify, connector.ca_file);
    settings.connector = &connector;
    settings.tls_context = context.get();
    settings.send_log = writer.get();
    target.host = std::move(host);
    target.endpoint = server.endpoint();
    return run(mode);
  }

  AttemptResult run(TlsAttempt mode = TlsAttempt::Policy) {
    asio::io_context io;
    std::optional<AttemptResult> out;
    asio::co_spawn(io, deliver(io.get_executor(), settings, target, transaction, mode),
                   [&](const std::exception_ptr& e, AttemptResult r) {
                     if (e)
                       ADD_FAILURE() << "deliver threw";
                     else
                       out = std::move(r);
                   });
    io.run_for(20s);
    EXPECT_TRUE(out) << "deliver did not finish";
    return out.value_or(AttemptResult{});
  }

  /// The send protocol log written so far.
  std::string send_log() const {
    std::string out;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path() / "log")) {
      EXPECT_EQ(entry.path().filename().string().rfind("SEND", 0), 0u);
      std::ifstream in(entry.path(), std::ios::binary);
      out.append(std::istreambuf_iterator<char>(in), {});
    }
    return out;
  }

  /// The parsed log lines (header lines skipped).
  std::vector<protocol_log::Line> log_lines() const {
    std::vector<protocol_log::Line> out;
    std::string text = send_log();
    std::size_t pos = 0;
    while (pos < text.size()) {
      auto end = text.find("\r\n", pos);
      if (end == std::string::npos) end = text.size();
      std::string_view l(text.data() + pos, end - pos);
      if (!l.empty() && l[0] != '#') {
        auto parsed = protocol_log::parse_line(l);
        EXPECT_TRUE(parsed) << l;
        if (parsed) out.push_back(*parsed);
      }
      pos = end + 2;
    }
    return out;
  }

  /// Server TLS: the gateway's own generated certificates and a named policy.
  std::shared_ptr<asio::ssl::context> server_tls(const tls::Policy& policy) {
    certificates = tls::ensure_self_signed(dir.path() / "server", "localhost");
    return tls::make_server_context(policy, certificates);
  }

  /// One PEM file with both generated certificates, to use as ca_file.
  std::filesystem::path ca_file() {
    auto path = dir.path() / "ca.pem";
    std::ofstream out(path, std::ios::binary);
    for (const auto& files : certificates) {
      std::ifstream in(files.chain, std::ios::binary);
      out << in.rdbuf();
    }
    return path;
  }

  TempDir dir{"sluice-client"};
  config::SendConnector connector;
  std::unique_ptr<protocol_log::Writer> writer;
  std::shared_ptr<asio::ssl::context> context;
  std::vector<tls::CertificateFiles> certificates;
  ClientSettings settings;
  Target target;
  std::string message;
  Transaction transaction;
};

constexpr const char* kEhloNoStartTls = "250-fake.test Hello\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n";
constexpr const char* kEhloStartTls =
    "250-fake.test Hello\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250-8BITMIME\r\n250 STARTTLS\r\n";

TEST_F(SmtpClientTest, PipelinedDeliveryExactBytes) {
  Responder r;
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  std::string size = std::to_string(message.size());
  EXPECT_EQ(server.transcript(),
            "EHLO onprem.test\r\n"
            "MAIL FROM:<alice@onprem.test> SIZE=" +
                size +
                "\r\n"
                "RCPT TO:<bob@cloud.test>\r\n"
                "RCPT TO:<carol@cloud.test>\r\n"
                "DATA\r\n"
                "Subject: test\r\n\r\n..hidden line\r\nlast line\r\n.\r\n"
                "QUIT\r\n");
  // One write: everything up to DATA had arrived when the server read MAIL.
  EXPECT_EQ(r.pending_after_mail, "RCPT TO:<bob@cloud.test>\r\nRCPT TO:<carol@cloud.test>\r\nDATA\r\n");
  EXPECT_EQ(result.failure, Failure::None);
  EXPECT_TRUE(result.data_accepted);
  EXPECT_FALSE(result.tls);
  EXPECT_EQ(result.endpoint, net::endpoint_text(server.endpoint()));
  ASSERT_EQ(result.recipients.size(), 2u);
  EXPECT_EQ(result.recipients[0].one_line(), "250 2.0.0 Queued as 1234");
  EXPECT_EQ(result.recipients[1].one_line(), "250 2.0.0 Queued as 1234");
}

TEST_F(SmtpClientTest, SendLogRecordsTheSessionButNotTheMessage) {
  Responder r;
  FakeServer server([&](Peer& p) { serve(p, r); });
  attempt(server);
  auto lines = log_lines();
  ASSERT_GE(lines.size(), 10u);
  EXPECT_EQ(lines.front().event, protocol_log::Event::Connect);
  EXPECT_EQ(lines.front().connector, "Outbound to test");
  EXPECT_EQ(lines.front().remote_endpoint, net::endpoint_text(server.endpoint()));
  EXPECT_EQ(lines.front().session_id.size(), 16u);
  EXPECT_EQ(lines.back().event, protocol_log::Event::Disconnect);
  EXPECT_EQ(lines.back().context, "Local");
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].sequence, static_cast<int>(i));
    EXPECT_EQ(lines[i].session_id, lines.front().session_id);
  }
  std::vector<std::string> sent, received;
  for (const auto& l : lines) {
    if (l.event == protocol_log::Event::Sent) sent.push_back(l.data);
    if (l.event == protocol_log::Event::Received) received.push_back(l.data);
  }
  std::vector<std::string> expected_sent = {"EHLO onprem.test",
                                            "MAIL FROM:<alice@onprem.test> SIZE=" + std::to_string(message.size()),
                                            "RCPT TO:<bob@cloud.test>",
                                            "RCPT TO:<carol@cloud.test>",
                                            "DATA",
                                            "QUIT"};
  EXPECT_EQ(sent, expected_sent);
  // Banner, EHLO, MAIL, two RCPT, DATA, end of data, QUIT.
  ASSERT_EQ(received.size(), 8u);
  EXPECT_EQ(received[0], "220 fake.test ESMTP");
  EXPECT_EQ(received[1], "250-fake.test Hello 250-PIPELINING 250-SIZE 1000000 250 8BITMIME");
  EXPECT_EQ(received[5], "354 Start mail input");
  EXPECT_EQ(received[6], "250 2.0.0 Queued as 1234");
  EXPECT_EQ(received[7], "221 2.0.0 Bye");
  std::string text = send_log();
  EXPECT_NE(text.find("#Log-type: SMTP Send Protocol Log"), std::string::npos);
  EXPECT_NE(text.find("Remote does not offer STARTTLS; sending in plaintext (connector is opportunistic)"),
            std::string::npos);
  EXPECT_EQ(text.find("hidden line"), std::string::npos);  // never message content
}

TEST_F(SmtpClientTest, WithoutPipeliningOneCommandAtATime) {
  Responder r;
  r.ehlo = "250-fake.test\r\n250 SIZE 1000000\r\n";
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_EQ(r.pending_after_mail, "");
  EXPECT_TRUE(result.data_accepted);
  EXPECT_NE(server.transcript().find("RCPT TO:<carol@cloud.test>\r\nDATA\r\n"), std::string::npos);
}

TEST_F(SmtpClientTest, PerRecipientRefusals) {
  transaction.recipients = {"nobody@cloud.test", "bob@cloud.test", "later@cloud.test"};
  Responder r;
  r.rcpt = {"550 5.1.1 User unknown\r\n", "250 2.1.5 OK\r\n", "451 4.2.0 Try later\r\n"};
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_EQ(result.failure, Failure::None);
  EXPECT_TRUE(result.data_accepted);
  ASSERT_EQ(result.recipients.size(), 3u);
  EXPECT_EQ(result.recipients[0].one_line(), "550 5.1.1 User unknown");
  EXPECT_EQ(result.recipients[1].one_line(), "250 2.0.0 Queued as 1234");
  EXPECT_EQ(result.recipients[2].one_line(), "451 4.2.0 Try later");
}

TEST_F(SmtpClientTest, AllRecipientsRefusedSendsNoData) {
  Responder r;
  r.ehlo = "250-fake.test\r\n250 SIZE 1000000\r\n";
  r.rcpt = {"550 5.1.1 User unknown\r\n", "550 5.1.1 User unknown\r\n"};
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  std::string transcript = server.transcript();
  EXPECT_EQ(transcript.find("DATA"), std::string::npos);
  EXPECT_NE(transcript.find("RCPT TO:<carol@cloud.test>\r\nQUIT\r\n"), std::string::npos);
  EXPECT_FALSE(result.data_accepted);
  EXPECT_EQ(result.recipients[0].code, 550);
  EXPECT_EQ(result.recipients[1].code, 550);
}

TEST_F(SmtpClientTest, AllRecipientsRefusedPipelinedMessageNotSent) {
  Responder r;
  r.rcpt = {"550 5.1.1 User unknown\r\n", "550 5.1.1 User unknown\r\n"};
  r.data = "554 5.5.1 No valid recipients\r\n";
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_EQ(server.transcript().find("Subject"), std::string::npos);
  EXPECT_EQ(r.message, "");
  EXPECT_FALSE(result.data_accepted);
  EXPECT_EQ(result.recipients[0].one_line(), "550 5.1.1 User unknown");
}

TEST_F(SmtpClientTest, PipelinedDataAcceptedWithoutRecipientsIsEndedEmpty) {
  Responder r;
  r.rcpt = {"550 5.1.1 User unknown\r\n", "550 5.1.1 User unknown\r\n"};
  r.end = "554 5.5.1 No valid recipients\r\n";
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_EQ(r.message, ".\r\n");
  EXPECT_FALSE(result.data_accepted);
  EXPECT_EQ(result.recipients[1].one_line(), "550 5.1.1 User unknown");
}

TEST_F(SmtpClientTest, TransientMailReplyDefersEveryone) {
  Responder r;
  r.ehlo = "250-fake.test\r\n250 SIZE 1000000\r\n";
  r.mail = "451 4.3.0 Try again later\r\n";
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_EQ(result.failure, Failure::RemoteTransient);
  EXPECT_EQ(result.reply.one_line(), "451 4.3.0 Try again later");
  EXPECT_EQ(result.recipients[0].one_line(), "451 4.3.0 Try again later");
  EXPECT_EQ(result.recipients[1].one_line(), "451 4.3.0 Try again later");
  EXPECT_EQ(server.transcript().find("RCPT"), std::string::npos);
}

TEST_F(SmtpClientTest, PipelinedMailRefusalIgnoresRcptReplies) {
  Responder r;
  r.mail = "451 5.7.3 Must issue a STARTTLS command first\r\n";
  r.rcpt = {"503 5.5.1 Need MAIL\r\n", "503 5.5.1 Need MAIL\r\n"};
  r.data = "503 5.5.1 Need MAIL\r\n";
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_EQ(result.failure, Failure::RemoteTransient);
  EXPECT_EQ(result.recipients[0].one_line(), "451 5.7.3 Must issue a STARTTLS command first");
  EXPECT_EQ(
      queue_last_error(result.failure, result.reply, result.endpoint)
          .rfind(
              "451 4.4.0 Primary target IP address responded with: \"451 5.7.3 Must issue a STARTTLS command first.\"",
              0),
      0u);
}

TEST_F(SmtpClientTest, RcptOnlyProbeAsksWithoutData) {
  transaction.mail_from = "";
  transaction.recipients = {"known@corp.test", "nobody@corp.test"};
  transaction.message = nullptr;
  transaction.rcpt_only = true;
  Responder r;
  r.rcpt = {"250 2.1.5 OK\r\n", "550 5.1.1 User unknown\r\n"};
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  // Pipelined, no SIZE (there is no message), no DATA: the RCPT replies are the answer.
  EXPECT_EQ(server.transcript(),
            "EHLO onprem.test\r\n"
            "MAIL FROM:<>\r\n"
            "RCPT TO:<known@corp.test>\r\n"
            "RCPT TO:<nobody@corp.test>\r\n"
            "QUIT\r\n");
  EXPECT_EQ(result.failure, Failure::None);
  EXPECT_FALSE(result.data_accepted);
  ASSERT_EQ(result.recipients.size(), 2u);
  EXPECT_EQ(result.recipients[0].one_line(), "250 2.1.5 OK");
  EXPECT_EQ(result.recipients[1].one_line(), "550 5.1.1 User unknown");
}

TEST_F(SmtpClientTest, RcptOnlyProbeWithoutPipelining) {
  transaction.recipients = {"known@corp.test"};
  transaction.message = nullptr;
  transaction.rcpt_only = true;
  Responder r;
  r.ehlo = "250-fake.test\r\n250 SIZE 1000000\r\n";
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_EQ(server.transcript(),
            "EHLO onprem.test\r\nMAIL FROM:<alice@onprem.test>\r\nRCPT TO:<known@corp.test>\r\nQUIT\r\n");
  EXPECT_EQ(result.failure, Failure::None);
  EXPECT_EQ(result.recipients[0].code, 250);
}

TEST_F(SmtpClientTest, RcptOnlyProbeWithRefusedMailIsAnAttemptFailure) {
  transaction.mail_from = "";
  transaction.recipients = {"known@corp.test"};
  transaction.message = nullptr;
  transaction.rcpt_only = true;
  Responder r;
  r.mail = "550 5.7.1 Null sender refused\r\n";
  r.rcpt = {"503 5.5.1 Need MAIL\r\n"};
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  // The 503 says nothing about the recipient: the attempt failed, with MAIL's reply.
  EXPECT_EQ(result.failure, Failure::RemotePermanent);
  EXPECT_EQ(result.reply.one_line(), "550 5.7.1 Null sender refused");
  EXPECT_EQ(result.recipients[0].one_line(), "550 5.7.1 Null sender refused");
}

TEST_F(SmtpClientTest, PermanentFailureAtEndOfData) {
  Responder r;
  r.end = "554 5.6.0 Message rejected\r\n";
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_EQ(result.failure, Failure::RemotePermanent);
  EXPECT_FALSE(result.data_accepted);
  EXPECT_EQ(result.recipients[0].one_line(), "554 5.6.0 Message rejected");
  EXPECT_EQ(result.recipients[1].one_line(), "554 5.6.0 Message rejected");
  EXPECT_NE(server.transcript().find(".\r\nQUIT\r\n"), std::string::npos);
}

TEST_F(SmtpClientTest, Banner421IsTransient) {
  Responder r;
  r.banner = "421 4.3.2 Service not available\r\n";
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_EQ(result.failure, Failure::RemoteTransient);
  EXPECT_EQ(result.reply.one_line(), "421 4.3.2 Service not available");
  EXPECT_EQ(result.recipients[0].code, 421);
  EXPECT_EQ(server.transcript(), "QUIT\r\n");
}

TEST_F(SmtpClientTest, Banner554IsPermanent) {
  Responder r;
  r.banner = "554 5.7.1 Go away\r\n";
  FakeServer server([&](Peer& p) { serve(p, r); });
  EXPECT_EQ(attempt(server).failure, Failure::RemotePermanent);
}

TEST_F(SmtpClientTest, EhloRefusedFallsBackToHelo) {
  Responder r;
  r.ehlo = "500 5.5.1 Unknown command\r\n";
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_TRUE(result.data_accepted);
  // No extensions after HELO: no SIZE, one command at a time.
  EXPECT_EQ(server.transcript().rfind("EHLO onprem.test\r\nHELO onprem.test\r\nMAIL FROM:<alice@onprem.test>\r\n"
                                      "RCPT TO:<bob@cloud.test>\r\n",
                                      0),
            0u);
}

TEST_F(SmtpClientTest, EhloTransientFails) {
  Responder r;
  r.ehlo = "421 4.7.0 Too busy\r\n";
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_EQ(result.failure, Failure::RemoteTransient);
  EXPECT_EQ(server.transcript().find("HELO"), std::string::npos);
}

TEST_F(SmtpClientTest, SizeExceededRefusedLocally) {
  Responder r;
  r.ehlo = "250-fake.test\r\n250 SIZE 10\r\n";
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_EQ(result.failure, Failure::RemotePermanent);
  EXPECT_EQ(result.reply.one_line(), "552 5.3.4 Message size (" + std::to_string(message.size()) +
                                         " octets) exceeds the remote server's limit (10 octets)");
  EXPECT_EQ(result.recipients[1].code, 552);
  EXPECT_EQ(server.transcript(), "EHLO onprem.test\r\nQUIT\r\n");
}

TEST_F(SmtpClientTest, SizeZeroMeansNoLimit) {
  Responder r;
  r.ehlo = "250-fake.test\r\n250 SIZE 0\r\n";
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_TRUE(result.data_accepted);
  EXPECT_NE(server.transcript().find(" SIZE="), std::string::npos);
}

TEST_F(SmtpClientTest, EightBitAndSmtpUtf8Parameters) {
  transaction.eight_bit = true;
  transaction.smtputf8 = true;
  Responder r;
  r.ehlo = "250-fake.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n";
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_TRUE(result.data_accepted);
  EXPECT_NE(server.transcript().find("MAIL FROM:<alice@onprem.test> BODY=8BITMIME SMTPUTF8\r\n"), std::string::npos);
}

TEST_F(SmtpClientTest, EightBitWithout8BitMimeStillSends) {
  transaction.eight_bit = true;
  Responder r;
  r.ehlo = "250-fake.test\r\n250 PIPELINING\r\n";
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_TRUE(result.data_accepted);
  EXPECT_NE(server.transcript().find("MAIL FROM:<alice@onprem.test>\r\n"), std::string::npos);
  EXPECT_NE(send_log().find("Remote does not offer 8BITMIME"), std::string::npos);
}

TEST_F(SmtpClientTest, SmtpUtf8NotOfferedFailsPermanently) {
  transaction.smtputf8 = true;
  Responder r;
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_EQ(result.failure, Failure::RemotePermanent);
  EXPECT_EQ(result.reply.code, 553);
  EXPECT_EQ(result.reply.enhanced, "5.6.7");
  EXPECT_EQ(server.transcript().find("MAIL"), std::string::npos);
}

TEST_F(SmtpClientTest, UnsafeRecipientIsNeverSent) {
  transaction.recipients = {"bob@cloud.test\r\nRSET", "carol@cloud.test"};
  Responder r;
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_EQ(server.transcript().find("RSET"), std::string::npos);
  EXPECT_EQ(result.recipients[0].one_line(), "501 5.1.3 Invalid recipient address (not sent)");
  EXPECT_EQ(result.recipients[1].code, 250);
}

TEST_F(SmtpClientTest, OpportunisticWithoutStartTlsDeliversInPlaintext) {
  Responder r;
  r.ehlo = kEhloNoStartTls;
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_TRUE(result.data_accepted);
  EXPECT_FALSE(result.tls);
}

TEST_F(SmtpClientTest, RequiredWithoutStartTlsIsTlsUnavailable) {
  connector.tls = config::OutboundTls::Required;
  Responder r;
  r.ehlo = kEhloNoStartTls;
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_EQ(result.failure, Failure::TlsUnavailable);
  EXPECT_EQ(result.reply.one_line(),
            "450 4.4.317 Cannot connect to remote server: " + net::endpoint_text(server.endpoint()) +
                " does not offer STARTTLS and the send connector requires TLS");
  EXPECT_FALSE(result.may_fall_back);
  EXPECT_EQ(result.tls_result_type, "starttls-not-supported");  // what TLS-RPT reports
  EXPECT_EQ(server.transcript(), "EHLO onprem.test\r\nQUIT\r\n");
}

TEST_F(SmtpClientTest, StartTlsRefusedOpportunisticContinuesInPlaintext) {
  Responder r;
  r.ehlo = kEhloStartTls;
  r.starttls = "454 4.7.0 TLS not available due to temporary reason\r\n";
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_TRUE(result.data_accepted);
  EXPECT_NE(send_log().find("Remote refused STARTTLS (454 4.7.0 TLS not available due to temporary reason); "
                            "sending in plaintext (connector is opportunistic)"),
            std::string::npos);
}

TEST_F(SmtpClientTest, StartTlsRefusedRequiredIsTlsUnavailable) {
  connector.tls = config::OutboundTls::Required;
  Responder r;
  r.ehlo = kEhloStartTls;
  r.starttls = "454 4.7.0 TLS not available\r\n";
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_EQ(result.failure, Failure::TlsUnavailable);
  EXPECT_NE(result.reply.one_line().find("refused STARTTLS (454 4.7.0 TLS not available)"), std::string::npos);
  EXPECT_EQ(result.tls_result_type, "starttls-not-supported");
  EXPECT_EQ(server.transcript().find("MAIL"), std::string::npos);
}

TEST_F(SmtpClientTest, TlsDeliveryLogsTheExchangeLines) {
  auto server_ctx = server_tls(*tls::named_policy("default"));
  connector.tls = config::OutboundTls::Required;
  connector.tls_policy.max_version = tls::Version::Tls1_2;
  Responder r;
  r.ehlo = kEhloStartTls;
  r.ehlo_after_tls = kEhloNoStartTls;
  r.tls = server_ctx->native_handle();
  FakeServer server([&](Peer& p) { serve(p, r); });
  const std::string handshakes =
      "sluice_tls_handshakes_total{direction=\"outbound\",connector=\"Outbound to test\",version=\"TLS1_2\","
      "result=\"ok\"}";
  const double handshakes_before = metrics::test_util::series_value(handshakes);
  auto result = attempt(server);
  EXPECT_TRUE(r.tls_ok);
  EXPECT_EQ(result.failure, Failure::None);
  EXPECT_TRUE(result.data_accepted);
  EXPECT_TRUE(result.tls);
  EXPECT_EQ(result.tls_version, "TLS1_2");
  EXPECT_EQ(metrics::test_util::series_value(handshakes) - handshakes_before, 1);
  EXPECT_FALSE(result.tls_cipher.empty());
  // EHLO again inside TLS (RFC 3207 4.2).
  EXPECT_EQ(server.transcript().rfind("EHLO onprem.test\r\nSTARTTLS\r\nEHLO onprem.test\r\nMAIL FROM:", 0), 0u);
  std::string log = send_log();
  EXPECT_NE(
      log.find("TLS protocol SP_PROT_TLS1_2_CLIENT negotiation succeeded using bulk encryption algorithm CALG_AES_"),
      std::string::npos);
  EXPECT_NE(log.find(",Received certificate"), std::string::npos);
  EXPECT_NE(log.find(",Certificate thumbprint"), std::string::npos);
}

TEST_F(SmtpClientTest, TlsThirteenWhenBothAllowIt) {
  auto server_ctx = server_tls(*tls::named_policy("default"));
  Responder r;
  r.ehlo = kEhloStartTls;
  r.ehlo_after_tls = kEhloNoStartTls;
  r.tls = server_ctx->native_handle();
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_TRUE(result.data_accepted);
  EXPECT_EQ(result.tls_version, "TLS1_3");
  EXPECT_NE(send_log().find("SP_PROT_TLS1_3_CLIENT"), std::string::npos);
}

TEST_F(SmtpClientTest, BytesInjectedBeforeTheHandshakeAreDiscarded) {
  auto server_ctx = server_tls(*tls::named_policy("default"));
  Responder r;
  r.ehlo = kEhloStartTls;
  r.ehlo_after_tls = kEhloNoStartTls;
  r.starttls = "220 go\r\n250 injected\r\n";
  r.tls = server_ctx->native_handle();
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_TRUE(result.tls);
  EXPECT_TRUE(result.data_accepted);
  std::string log = send_log();
  EXPECT_NE(log.find("Discarded 14 bytes received after the STARTTLS reply, before the TLS handshake"),
            std::string::npos);
  EXPECT_EQ(log.find("250 injected"), std::string::npos);
}

TEST_F(SmtpClientTest, LegacyClientAgainstModernServerIsSocketErrorWithFallback) {
  auto server_ctx = server_tls(*tls::named_policy("default"));
  connector.tls_policy = *tls::named_policy("legacy");
  connector.tls_policy.max_version = tls::Version::Tls1_0;
  connector.fallback_to_plaintext = true;
  Responder r;
  r.ehlo = kEhloStartTls;
  r.tls = server_ctx->native_handle();
  FakeServer server([&](Peer& p) { serve(p, r); });
  const std::string refused =
      "sluice_tls_handshakes_total{direction=\"outbound\",connector=\"Outbound to test\",version=\"unknown\","
      "result=\"refused\"}";
  const double refused_before = metrics::test_util::series_value(refused);
  auto result = attempt(server);
  server.join();  // the server records its failed handshake after the client has seen it
  EXPECT_TRUE(r.tls_failed);
  EXPECT_EQ(metrics::test_util::series_value(refused) - refused_before, 1);
  EXPECT_EQ(result.failure, Failure::SocketError);
  EXPECT_EQ(result.reply.one_line(), "421 4.4.2 Connection dropped due to SocketError");
  EXPECT_EQ(queue_last_error(result.failure, result.reply, result.endpoint),
            "421 4.4.2 Connection dropped due to SocketError");
  EXPECT_TRUE(result.may_fall_back);
  EXPECT_EQ(result.recipients[0].one_line(), "421 4.4.2 Connection dropped due to SocketError");
  std::string log = send_log();
  EXPECT_NE(log.find(",TLS negotiation failed with error SocketError"), std::string::npos);
  EXPECT_NE(log.find("TLS handshake failed: UnsupportedProtocol ("), std::string::npos) << log;
}

TEST_F(SmtpClientTest, HandshakeFailureWithoutFallback) {
  auto server_ctx = server_tls(*tls::named_policy("default"));
  connector.tls_policy = *tls::named_policy("legacy");
  connector.tls_policy.max_version = tls::Version::Tls1_0;
  connector.fallback_to_plaintext = false;
  Responder r;
  r.ehlo = kEhloStartTls;
  r.tls = server_ctx->native_handle();
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_EQ(result.failure, Failure::SocketError);
  EXPECT_FALSE(result.may_fall_back);
}

TEST_F(SmtpClientTest, RequiredConnectorNeverFallsBack) {
  auto policy = *tls::named_policy("default");
  policy.min_version = tls::Version::Tls1_3;  // a TLS 1.3-only server
  auto server_ctx = server_tls(policy);
  connector.tls = config::OutboundTls::Required;
  connector.tls_policy.max_version = tls::Version::Tls1_2;
  Responder r;
  r.ehlo = kEhloStartTls;
  r.tls = server_ctx->native_handle();
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_EQ(result.failure, Failure::SocketError);
  EXPECT_EQ(result.reply.one_line(), "421 4.4.2 Connection dropped due to SocketError");
  EXPECT_FALSE(result.may_fall_back);
  EXPECT_NE(send_log().find("TLS handshake failed: UnsupportedProtocol"), std::string::npos);
}

TEST_F(SmtpClientTest, PlaintextRetrySkipsStartTlsAndSaysSo) {
  Responder r;
  r.ehlo = kEhloStartTls;
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server, TlsAttempt::Plaintext);
  EXPECT_TRUE(result.data_accepted);
  EXPECT_FALSE(result.tls);
  EXPECT_EQ(server.transcript().find("STARTTLS"), std::string::npos);
  EXPECT_NE(send_log().find("Plaintext retry after a failed TLS handshake"), std::string::npos);
}

TEST_F(SmtpClientTest, PlaintextRetryOnRequiredConnectorStillUsesTls) {
  connector.tls = config::OutboundTls::Required;
  Responder r;
  r.ehlo = kEhloNoStartTls;
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server, TlsAttempt::Plaintext);
  EXPECT_EQ(result.failure, Failure::TlsUnavailable);
  EXPECT_NE(send_log().find("Plaintext retry refused: send connector requires TLS (tls = required)"),
            std::string::npos);
}

TEST_F(SmtpClientTest, VerifyAcceptsTrustedMatchingCertificate) {
  auto server_ctx = server_tls(*tls::named_policy("default"));
  connector.tls = config::OutboundTls::Verify;
  connector.ca_file = ca_file();
  Responder r;
  r.ehlo = kEhloStartTls;
  r.ehlo_after_tls = kEhloNoStartTls;
  r.tls = server_ctx->native_handle();
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server, TlsAttempt::Policy, "localhost");
  EXPECT_EQ(result.failure, Failure::None) << result.reply.one_line();
  EXPECT_TRUE(result.data_accepted);
  EXPECT_NE(send_log().find("localhost,Validated received certificate"), std::string::npos);
  EXPECT_EQ(result.tls_result_type, "");
}

TEST_F(SmtpClientTest, VerifyRejectsWrongName) {
  auto server_ctx = server_tls(*tls::named_policy("default"));
  connector.tls = config::OutboundTls::Verify;
  connector.ca_file = ca_file();
  Responder r;
  r.ehlo = kEhloStartTls;
  r.tls = server_ctx->native_handle();
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server, TlsAttempt::Policy, "mx.wrong.example");
  EXPECT_EQ(result.failure, Failure::CertificateInvalid);
  EXPECT_EQ(result.reply.one_line(),
            "450 4.4.317 Cannot connect to remote server: certificate of mx.wrong.example rejected: hostname mismatch");
  EXPECT_FALSE(result.may_fall_back);
  EXPECT_EQ(result.tls_result_type, "certificate-host-mismatch");
}

TEST_F(SmtpClientTest, VerifyRejectsUntrustedCertificate) {
  auto server_ctx = server_tls(*tls::named_policy("default"));
  connector.tls = config::OutboundTls::Verify;  // system trust store: our self-signed pair is not in it
  Responder r;
  r.ehlo = kEhloStartTls;
  r.tls = server_ctx->native_handle();
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_EQ(result.failure, Failure::CertificateInvalid);
  EXPECT_NE(result.reply.one_line().find("certificate of localhost rejected: self-signed certificate"),
            std::string::npos)
      << result.reply.one_line();
  EXPECT_EQ(result.tls_result_type, "certificate-not-trusted");
}

/// DANE-EE SPKI records (3 1 1) of the generated server certificates (read from `certificates`).
std::vector<tls::TlsaRecord> spki_tlsa_of(const std::vector<tls::CertificateFiles>& certificates) {
  std::vector<tls::TlsaRecord> out;
  for (const auto& files : certificates) {
    std::FILE* f = std::fopen(files.chain.c_str(), "r");
    X509* cert = f ? PEM_read_X509(f, nullptr, nullptr, nullptr) : nullptr;
    if (f) std::fclose(f);
    if (cert == nullptr) continue;
    unsigned char* der = nullptr;
    int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    std::vector<unsigned char> digest(32);
    SHA256(der, static_cast<std::size_t>(len), digest.data());
    OPENSSL_free(der);
    X509_free(cert);
    out.push_back({3, 1, 1, digest});
  }
  return out;
}

TlsRequirement dane_requirement_with(std::vector<tls::TlsaRecord> tlsa) {
  TlsRequirement r;
  r.level = TlsLevel::Dane;
  r.source = PolicySource::Dane;
  r.policy_domain = "example.test";
  r.match_names = {"mx.example.test", "example.test"};
  r.tlsa = std::move(tlsa);
  r.decided_by = "DANE: DNSSEC-validated TLSA records for _25._tcp.mx.example.test";
  return r;
}

TEST_F(SmtpClientTest, DaneDeliversWhenATlsaRecordMatchesAndLogsWhichOne) {
  auto server_ctx = server_tls(*tls::named_policy("default"));
  target.tls = dane_requirement_with(spki_tlsa_of(certificates));
  ASSERT_EQ(target.tls.tlsa.size(), 2u);
  Responder r;
  r.ehlo = kEhloStartTls;
  r.ehlo_after_tls = kEhloNoStartTls;
  r.tls = server_ctx->native_handle();
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server, TlsAttempt::Policy, "mx.example.test");
  EXPECT_EQ(result.failure, Failure::None) << result.reply.one_line();
  EXPECT_TRUE(result.data_accepted);
  EXPECT_NE(send_log().find("DANE: certificate matched TLSA 3 1 1 "), std::string::npos) << send_log();
  EXPECT_NE(send_log().find(" of mx.example.test (depth 0)"), std::string::npos) << send_log();
}

TEST_F(SmtpClientTest, DaneMismatchDefersAsCertificateInvalid) {
  auto server_ctx = server_tls(*tls::named_policy("default"));
  tls::TlsaRecord wrong{3, 1, 1, std::vector<unsigned char>(32, 0xab)};
  target.tls = dane_requirement_with({wrong});
  Responder r;
  r.ehlo = kEhloStartTls;
  r.tls = server_ctx->native_handle();
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server, TlsAttempt::Policy, "mx.example.test");
  EXPECT_EQ(result.failure, Failure::CertificateInvalid);
  EXPECT_EQ(result.reply.one_line(),
            "450 4.4.317 Cannot connect to remote server: certificate of mx.example.test rejected: TLSA mismatch: no "
            "TLSA record of mx.example.test matches its certificate chain (3 1 1 abababababab...)");
  EXPECT_FALSE(result.may_fall_back);
  EXPECT_FALSE(result.data_accepted);
  EXPECT_NE(send_log().find("DANE: TLSA mismatch"), std::string::npos) << send_log();
}

TEST_F(SmtpClientTest, ReplyTimeout) {
  settings.timeouts.command = 1s;
  Responder r;
  r.silent_after_banner = true;
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto started = std::chrono::steady_clock::now();
  auto result = attempt(server);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 4s);
  EXPECT_EQ(result.failure, Failure::Timeout);
  EXPECT_EQ(result.reply.one_line(), "421 4.4.2 Connection dropped due to TimedOut");
  auto lines = log_lines();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back().context, "Timeout");
}

TEST_F(SmtpClientTest, ConnectionDroppedMidTransaction) {
  Responder r;
  r.drop_after_mail = true;
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_EQ(result.failure, Failure::SocketError);
  EXPECT_EQ(result.recipients[0].one_line(), "421 4.4.2 Connection dropped due to SocketError");
  EXPECT_EQ(log_lines().back().context, "Remote");
}

TEST_F(SmtpClientTest, MalformedReplyIsASocketError) {
  Responder r;
  r.banner = "HTTP/1.1 400 Bad Request\r\n";
  FakeServer server([&](Peer& p) { serve(p, r); });
  auto result = attempt(server);
  EXPECT_EQ(result.failure, Failure::SocketError);
  EXPECT_NE(send_log().find("Malformed reply: reply line does not start with a three-digit code"), std::string::npos);
}

TEST_F(SmtpClientTest, OverlongReplyLineIsASocketError) {
  Responder r;
  r.banner = "220 " + std::string(5000, 'x') + "\r\n";
  FakeServer server([&](Peer& p) { serve(p, r); });
  EXPECT_EQ(attempt(server).failure, Failure::SocketError);
}

TEST_F(SmtpClientTest, ConnectRefused) {
  tcp::endpoint closed;
  {
    asio::io_context io;
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    closed = acceptor.local_endpoint();
  }
  context =
      tls::make_client_context(connector.tls_policy, connector.tls == config::OutboundTls::Verify, connector.ca_file);
  settings.connector = &connector;
  settings.tls_context = context.get();
  settings.send_log = writer.get();
  target.host = "localhost";
  target.endpoint = closed;
  auto result = run();
  EXPECT_EQ(result.failure, Failure::ConnectFailed);
  EXPECT_EQ(result.reply.one_line(),
            "421 4.4.1 Unable to connect to " + net::endpoint_text(closed) + ": Connection refused");
  EXPECT_EQ(result.recipients[0].code, 421);
  EXPECT_NE(send_log().find("Failed to connect to localhost"), std::string::npos);
}

TEST_F(SmtpClientTest, NoRecipientsNoConnection) {
  transaction.recipients.clear();
  target.endpoint = tcp::endpoint(asio::ip::make_address("127.0.0.1"), 9);
  auto result = run();
  EXPECT_EQ(result.failure, Failure::None);
  EXPECT_TRUE(result.recipients.empty());
}

TEST_F(SmtpClientTest, MissingMessageIsATransientInternalError) {
  transaction.message = nullptr;
  target.endpoint = tcp::endpoint(asio::ip::make_address("127.0.0.1"), 9);
  auto result = run();
  EXPECT_EQ(result.failure, Failure::RemoteTransient);
  EXPECT_EQ(result.recipients[0].code, 451);
}

// ---- AUTH to the smart host --------------------------------------------------------------------

/// Tokens as a test wants them: a value, or an error; counts the requests and the rejections.
class FakeTokens : public AccessTokenSource {
 public:
  asio::awaitable<Result<AccessToken>> token() override {
    ++asked;
    if (!error.empty()) co_return Result<AccessToken>(fail(error));
    co_return AccessToken{value, std::chrono::system_clock::now() + 1h};
  }
  void rejected(const std::string& token_value) override { rejected_tokens.push_back(token_value); }

  std::string value = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.secret-token";
  std::string error;
  int asked = 0;
  std::vector<std::string> rejected_tokens;
};

constexpr const char* kEhloAuth =
    "250-fake.test Hello\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250-AUTH LOGIN PLAIN XOAUTH2\r\n250 8BITMIME\r\n";

class SmtpClientAuthTest : public SmtpClientTest {
 protected:
  SmtpClientAuthTest() {
    connector.tls = config::OutboundTls::Required;
    connector.auth.username = "scanner@contoso.test";
    password = "s3cret-Pa55";
    settings.password = &password;
    settings.token_source = &tokens;
    r.ehlo = kEhloStartTls;
    r.ehlo_after_tls = kEhloAuth;
  }
  AttemptResult attempt_with(config::SendAuthMechanism mechanism) {
    connector.auth.mechanism = mechanism;
    server_ctx = server_tls(*tls::named_policy("default"));
    r.tls = server_ctx->native_handle();
    FakeServer server([&](Peer& p) { serve(p, r); });
    auto result = attempt(server);
    transcript = server.transcript();
    endpoint = net::endpoint_text(server.endpoint());
    return result;
  }
  /// No secret, nor its base64, in the send protocol log.
  void expect_no_secret_logged() {
    const std::string log = send_log();
    for (const std::string& secret :
         {password, base64_encode(password), tokens.value, smtp::plain_response(connector.auth.username, password),
          smtp::xoauth2_response(connector.auth.username, tokens.value)})
      EXPECT_EQ(log.find(secret), std::string::npos) << secret << " in " << log;
  }

  std::string password;
  FakeTokens tokens;
  Responder r;
  std::shared_ptr<asio::ssl::context> server_ctx;
  std::string transcript, endpoint;
};

TEST_F(SmtpClientAuthTest, PlainSendsTheInitialResponseInsideTlsAfterTheSecondEhlo) {
  auto result = attempt_with(config::SendAuthMechanism::Plain);
  EXPECT_EQ(result.failure, Failure::None);
  EXPECT_TRUE(result.data_accepted);
  EXPECT_EQ(r.auth_lines,
            std::vector<std::string>{"AUTH PLAIN " + smtp::plain_response("scanner@contoso.test", "s3cret-Pa55")});
  EXPECT_TRUE(r.tls_ok);
  const std::string log = send_log();
  EXPECT_NE(log.find(">,AUTH PLAIN ****,"), std::string::npos) << log;
  EXPECT_NE(log.find("Authenticated as scanner@contoso.test"), std::string::npos);
  // AUTH after STARTTLS and the second EHLO, MAIL after AUTH.
  const auto ehlo2 = log.find(">,EHLO", log.find("negotiation succeeded"));
  EXPECT_LT(ehlo2, log.find(">,AUTH PLAIN"));
  EXPECT_LT(log.find(">,AUTH PLAIN"), log.find(">,MAIL FROM"));
  expect_no_secret_logged();
}

TEST_F(SmtpClientAuthTest, LoginAnswersBothChallenges) {
  r.auth = {"334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n", "235 2.7.0 Authentication successful\r\n"};
  auto result = attempt_with(config::SendAuthMechanism::Login);
  EXPECT_TRUE(result.data_accepted);
  EXPECT_EQ(r.auth_lines, (std::vector<std::string>{"AUTH LOGIN", base64_encode("scanner@contoso.test"),
                                                    base64_encode("s3cret-Pa55")}));
  const std::string log = send_log();
  EXPECT_NE(log.find(">,AUTH LOGIN,"), std::string::npos);
  EXPECT_NE(log.find("<,334 VXNlcm5hbWU6,"), std::string::npos);
  EXPECT_NE(log.find(">,****,"), std::string::npos);
  expect_no_secret_logged();
}

TEST_F(SmtpClientAuthTest, Xoauth2SendsUserAndBearerTokenInGooglesFormat) {
  auto result = attempt_with(config::SendAuthMechanism::XOAuth2);
  EXPECT_TRUE(result.data_accepted);
  ASSERT_EQ(r.auth_lines.size(), 1u);
  const std::string prefix = "AUTH XOAUTH2 ";
  ASSERT_EQ(r.auth_lines[0].rfind(prefix, 0), 0u);
  EXPECT_EQ(base64_decode(r.auth_lines[0].substr(prefix.size())),
            "user=scanner@contoso.test\x01"
            "auth=Bearer " +
                tokens.value + "\x01\x01");
  EXPECT_EQ(tokens.asked, 1);
  EXPECT_TRUE(tokens.rejected_tokens.empty());
  EXPECT_NE(send_log().find(">,AUTH XOAUTH2 ****,"), std::string::npos);
  expect_no_secret_logged();
}

TEST_F(SmtpClientAuthTest, Xoauth2JsonErrorIsAnsweredWithAnEmptyLineThenDefers) {
  const std::string json = R"({"status":"401","schemes":"bearer","scope":"https://outlook.office365.com/.default"})";
  r.auth = {"334 " + base64_encode(json) + "\r\n", "535 5.7.3 Authentication unsuccessful\r\n"};
  auto result = attempt_with(config::SendAuthMechanism::XOAuth2);
  ASSERT_EQ(r.auth_lines.size(), 2u);
  EXPECT_EQ(r.auth_lines[1], "");
  EXPECT_EQ(result.failure, Failure::AuthenticationFailed);
  EXPECT_EQ(result.reply.one_line(), "451 4.7.0 Cannot authenticate to " + endpoint +
                                         ": 535 5.7.3 Authentication unsuccessful (XOAUTH2 error: " + json + ")");
  EXPECT_EQ(tokens.rejected_tokens, std::vector<std::string>{tokens.value});
  EXPECT_FALSE(result.transaction_started);
  EXPECT_EQ(transcript.find("MAIL FROM"), std::string::npos);
  for (const auto& recipient : result.recipients) EXPECT_TRUE(recipient.transient()) << recipient.one_line();
  // The log is CSV: its quotes doubled.
  EXPECT_NE(send_log().find(R"(XOAUTH2 error from the server: {""status"":""401"",""schemes"":""bearer"")"),
            std::string::npos);
  expect_no_secret_logged();
}

TEST_F(SmtpClientAuthTest, A535DefersWithTheServersReplyVerbatim) {
  r.auth = {"535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant\r\n"};
  auto result = attempt_with(config::SendAuthMechanism::Plain);
  EXPECT_EQ(result.failure, Failure::AuthenticationFailed);
  EXPECT_EQ(result.reply.one_line(),
            "451 4.7.0 Cannot authenticate to " + endpoint +
                ": 535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant");
  EXPECT_TRUE(result.reply.transient());
  ASSERT_EQ(result.recipients.size(), 2u);
  for (const auto& recipient : result.recipients) EXPECT_EQ(recipient, result.reply);
  EXPECT_EQ(transcript.find("MAIL FROM"), std::string::npos);
  EXPECT_NE(transcript.find("QUIT"), std::string::npos);
  // Not an XOAUTH2 token: nothing to reject.
  EXPECT_TRUE(tokens.rejected_tokens.empty());
}

TEST_F(SmtpClientAuthTest, ARejectedTokenIsReportedToTheSource) {
  r.auth = {"535 5.7.3 Authentication unsuccessful\r\n"};
  auto result = attempt_with(config::SendAuthMechanism::XOAuth2);
  EXPECT_EQ(result.failure, Failure::AuthenticationFailed);
  EXPECT_EQ(tokens.rejected_tokens, std::vector<std::string>{tokens.value});
}

TEST_F(SmtpClientAuthTest, TokenSourceFailureDefersWithItsMessageAndSendsNoAuth) {
  tokens.error = "invalid_client: AADSTS7000215: Invalid client secret provided.";
  auto result = attempt_with(config::SendAuthMechanism::XOAuth2);
  EXPECT_EQ(result.failure, Failure::AuthenticationFailed);
  EXPECT_EQ(result.reply.one_line(), "451 4.7.0 Cannot authenticate to " + endpoint +
                                         ": no OAuth access token: invalid_client: AADSTS7000215: Invalid client "
                                         "secret provided.");
  EXPECT_TRUE(r.auth_lines.empty());
  EXPECT_NE(send_log().find("No OAuth access token: invalid_client"), std::string::npos);
}

TEST_F(SmtpClientAuthTest, AMechanismTheServerDoesNotOfferDefers) {
  r.ehlo_after_tls = "250-fake.test Hello\r\n250-AUTH LOGIN\r\n250 8BITMIME\r\n";
  auto result = attempt_with(config::SendAuthMechanism::Plain);
  EXPECT_EQ(result.failure, Failure::AuthenticationFailed);
  EXPECT_EQ(result.reply.one_line(),
            "451 4.7.0 Cannot authenticate to " + endpoint + ": it does not offer AUTH PLAIN (it offers LOGIN)");
  EXPECT_TRUE(r.auth_lines.empty());
  EXPECT_EQ(transcript.find("MAIL FROM"), std::string::npos);

  r = {};
  r.ehlo = kEhloStartTls;
  r.ehlo_after_tls = kEhloNoStartTls;
  auto none = attempt_with(config::SendAuthMechanism::XOAuth2);
  EXPECT_NE(none.reply.one_line().find("it does not offer AUTH XOAUTH2 (no AUTH at all)"), std::string::npos);
  EXPECT_EQ(tokens.asked, 0);
}

TEST_F(SmtpClientAuthTest, NeverAuthenticatesInPlaintextEvenWhenOpportunistic) {
  connector.tls = config::OutboundTls::Opportunistic;
  r.ehlo = kEhloAuth;  // AUTH offered, STARTTLS not
  auto result = attempt_with(config::SendAuthMechanism::Plain);
  EXPECT_EQ(result.failure, Failure::AuthenticationFailed);
  EXPECT_EQ(result.reply.one_line(),
            "451 4.7.0 Cannot authenticate to " + endpoint +
                ": no TLS (the server does not offer STARTTLS), and the send connector sends credentials only "
                "inside TLS");
  EXPECT_EQ(transcript, "EHLO onprem.test\r\nQUIT\r\n");

  r = {};
  r.ehlo = std::string(kEhloStartTls);
  r.starttls = "454 4.7.0 TLS not available due to temporary reason\r\n";
  auto refused = attempt_with(config::SendAuthMechanism::Login);
  EXPECT_NE(refused.reply.one_line().find("no TLS (the server refused STARTTLS (454 4.7.0 TLS not available"),
            std::string::npos);
  EXPECT_EQ(transcript.find("AUTH"), std::string::npos);
}

TEST_F(SmtpClientAuthTest, AFailedHandshakeIsNotRetriedInPlaintext) {
  connector.tls = config::OutboundTls::Opportunistic;
  connector.fallback_to_plaintext = true;
  connector.auth.mechanism = config::SendAuthMechanism::Plain;
  // A server that offers STARTTLS and then closes instead of a handshake.
  FakeServer server([&](Peer& p) {
    p.send("220 fake.test ESMTP\r\n");
    p.line();
    p.send(kEhloStartTls);
    p.line();
    p.send("220 2.0.0 Ready to start TLS\r\n");
  });
  auto result = attempt(server);
  EXPECT_EQ(result.failure, Failure::SocketError);
  EXPECT_FALSE(result.may_fall_back);
  EXPECT_NE(send_log().find("No plaintext retry: the connector authenticates"), std::string::npos);
}

// ---- REQUIRETLS (RFC 8689; outbound/requiretls.h) ----

constexpr const char* kEhloRequireTls =
    "250-fake.test Hello\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250-8BITMIME\r\n250 REQUIRETLS\r\n";

class SmtpClientRequireTlsTest : public SmtpClientTest {
 protected:
  SmtpClientRequireTlsTest() {
    transaction.requiretls = true;
    server_ctx = server_tls(*tls::named_policy("default"));
    connector.tls = config::OutboundTls::Verify;  // an authenticated target
    connector.ca_file = ca_file();
    r.ehlo = kEhloStartTls;
    r.tls = server_ctx->native_handle();
  }
  AttemptResult attempt_now() {
    FakeServer server([&](Peer& p) { serve(p, r); });
    auto result = attempt(server);
    transcript = server.transcript();
    return result;
  }

  Responder r;
  std::shared_ptr<asio::ssl::context> server_ctx;
  std::string transcript;
};

TEST_F(SmtpClientRequireTlsTest, AnAuthenticatedServerThatOffersItGetsRequireTlsOnMail) {
  r.ehlo_after_tls = kEhloRequireTls;
  auto result = attempt_now();
  EXPECT_EQ(result.failure, Failure::None) << result.reply.one_line();
  EXPECT_TRUE(result.data_accepted);
  EXPECT_NE(transcript.find("MAIL FROM:<alice@onprem.test> SIZE=" + std::to_string(message.size()) + " REQUIRETLS\r\n"),
            std::string::npos)
      << transcript;
}

TEST_F(SmtpClientRequireTlsTest, AServerWithoutItNeverGetsTheMessage) {
  r.ehlo_after_tls = kEhloNoStartTls;
  auto result = attempt_now();
  EXPECT_EQ(result.failure, Failure::TlsUnavailable);  // the next target may offer it
  EXPECT_EQ(result.reply.one_line(), "550 5.7.30 REQUIRETLS support required: localhost does not offer REQUIRETLS");
  EXPECT_FALSE(result.transaction_started);
  ASSERT_EQ(result.recipients.size(), 2u);
  EXPECT_EQ(result.recipients[0].enhanced, "5.7.30");
  EXPECT_EQ(transcript.find("MAIL FROM"), std::string::npos) << transcript;
  EXPECT_NE(transcript.find("QUIT"), std::string::npos) << transcript;
  EXPECT_NE(send_log().find("Not sending the REQUIRETLS message (RFC 8689): 550 5.7.30"), std::string::npos);
}

TEST_F(SmtpClientRequireTlsTest, REQUIRETLSOfferedBeforeStarttlsDoesNotCount) {
  // Offered in the plaintext EHLO only: after STARTTLS everything learnt before is forgotten.
  r.ehlo = "250-fake.test Hello\r\n250-REQUIRETLS\r\n250 STARTTLS\r\n";
  r.ehlo_after_tls = kEhloNoStartTls;
  auto result = attempt_now();
  EXPECT_EQ(result.reply.enhanced, "5.7.30");
  EXPECT_EQ(transcript.find("MAIL FROM"), std::string::npos) << transcript;
}

TEST_F(SmtpClientRequireTlsTest, AnUnauthenticatedSessionIsRefusedEvenWhereTheServerOffersIt) {
  connector.tls = config::OutboundTls::Required;  // encrypted, certificate not checked
  r.ehlo_after_tls = kEhloRequireTls;
  auto result = attempt_now();
  EXPECT_EQ(result.reply.enhanced, "5.7.10") << result.reply.one_line();
  EXPECT_EQ(transcript.find("MAIL FROM"), std::string::npos) << transcript;
}

TEST_F(SmtpClientRequireTlsTest, ANoticeGoesWithItWhereOfferedAndWithoutItElsewhere) {
  transaction.mail_from = "";  // the bounce of a REQUIRETLS message
  connector.tls = config::OutboundTls::Opportunistic;
  r.ehlo_after_tls = kEhloRequireTls;
  auto offered = attempt_now();
  EXPECT_TRUE(offered.data_accepted) << offered.reply.one_line();
  EXPECT_NE(transcript.find("MAIL FROM:<> SIZE=" + std::to_string(message.size()) + " REQUIRETLS\r\n"),
            std::string::npos)
      << transcript;

  r = Responder{};
  r.ehlo = kEhloNoStartTls;  // no TLS at all: RFC 8689 5, not held back
  auto plain = attempt_now();
  EXPECT_TRUE(plain.data_accepted) << plain.reply.one_line();
  EXPECT_EQ(transcript.find("REQUIRETLS"), std::string::npos) << transcript;
  EXPECT_NE(send_log().find("sending the notice of a REQUIRETLS message without it"), std::string::npos);
}

// ---- A queue move (sluice queue move, XMOVE) ----

TEST_F(SmtpClientTest, MoveParametersGoOnMailAndEachRcptWhereXmoveIsOffered) {
  Responder r;
  r.ehlo = "250-fake.test Hello\r\n250-PIPELINING\r\n250 XMOVE\r\n";
  FakeServer server([&](Peer& p) { serve(p, r); });
  transaction.move = true;
  transaction.move_mail_parameters = " XMOVE-ARRIVED=2026-12-01T10:00:00Z XMOVE-ID=ABC";
  transaction.move_recipient_parameters = {" XMOVE-STATE=deferred XMOVE-ATTEMPTS=2",
                                           " XMOVE-STATE=pending XMOVE-ATTEMPTS=0"};
  auto result = attempt(server);
  EXPECT_TRUE(result.data_accepted);
  EXPECT_EQ(server.transcript().substr(0, server.transcript().find("DATA")),
            "EHLO onprem.test\r\n"
            "MAIL FROM:<alice@onprem.test> XMOVE-ARRIVED=2026-12-01T10:00:00Z XMOVE-ID=ABC\r\n"
            "RCPT TO:<bob@cloud.test> XMOVE-STATE=deferred XMOVE-ATTEMPTS=2\r\n"
            "RCPT TO:<carol@cloud.test> XMOVE-STATE=pending XMOVE-ATTEMPTS=0\r\n");
}

TEST_F(SmtpClientTest, AMoveSendsNothingToAServerWithoutXmove) {
  Responder r;
  FakeServer server([&](Peer& p) { serve(p, r); });
  transaction.move = true;
  transaction.move_mail_parameters = " XMOVE-ARRIVED=2026-12-01T10:00:00Z XMOVE-ID=ABC";
  auto result = attempt(server);
  EXPECT_EQ(result.failure, Failure::RemotePermanent);
  EXPECT_FALSE(result.transaction_started);
  EXPECT_EQ(result.reply.code, 550);
  EXPECT_EQ(server.transcript(), "EHLO onprem.test\r\nQUIT\r\n");
}

}  // namespace
}  // namespace sluice::outbound
