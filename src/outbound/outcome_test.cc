#include "outbound/outcome.h"

#include <gtest/gtest.h>

namespace sluice::outbound {
namespace {

TEST(FailureReply, ExchangeTexts) {
  EXPECT_EQ(failure_reply(Failure::SocketError, "127.0.0.1:25", "").one_line(),
            "421 4.4.2 Connection dropped due to SocketError");
  EXPECT_EQ(failure_reply(Failure::Timeout, "127.0.0.1:25", "").one_line(),
            "421 4.4.2 Connection dropped due to TimedOut");
  EXPECT_EQ(failure_reply(Failure::ConnectFailed, "127.0.0.1:25", "Connection refused").one_line(),
            "421 4.4.1 Unable to connect to 127.0.0.1:25: Connection refused");
  EXPECT_EQ(failure_reply(Failure::TlsUnavailable, "127.0.0.1:25", "").one_line(),
            "450 4.4.317 Cannot connect to remote server: 127.0.0.1:25 does not offer STARTTLS and the send "
            "connector requires TLS");
  EXPECT_EQ(failure_reply(Failure::TlsUnavailable, "[::1]:25", "454 4.7.0 TLS not available").one_line(),
            "450 4.4.317 Cannot connect to remote server: [::1]:25 refused STARTTLS (454 4.7.0 TLS not available) "
            "and the send connector requires TLS");
  EXPECT_EQ(failure_reply(Failure::CertificateInvalid, "mx.example.org", "self-signed certificate").one_line(),
            "450 4.4.317 Cannot connect to remote server: certificate of mx.example.org rejected: self-signed "
            "certificate");
}

TEST(FailureReply, CodesAndClasses) {
  auto r = failure_reply(Failure::SocketError, "x", "");
  EXPECT_EQ(r.code, 421);
  EXPECT_EQ(r.enhanced, "4.4.2");
  EXPECT_TRUE(r.transient());
  EXPECT_TRUE(failure_reply(Failure::TlsUnavailable, "x", "").transient());
  EXPECT_TRUE(failure_reply(Failure::CertificateInvalid, "x", "y").transient());
  EXPECT_TRUE(failure_reply(Failure::RemotePermanent, "x", "y").permanent());
  EXPECT_EQ(failure_reply(Failure::None, "x", "").code, 0);
}

TEST(FailureName, Names) {
  EXPECT_EQ(failure_name(Failure::SocketError), "SocketError");
  EXPECT_EQ(failure_name(Failure::TlsUnavailable), "TlsUnavailable");
  EXPECT_EQ(failure_name(Failure::None), "None");
}

TEST(PrimaryTargetText, ExchangeOnlineStartTlsRefusal) {
  smtp::Reply r = smtp::make_reply(451, "5.7.3", "Must issue a STARTTLS command first");
  EXPECT_EQ(primary_target_text(r, "127.0.0.1:25"),
            "451 4.4.0 Primary target IP address responded with: \"451 5.7.3 Must issue a STARTTLS command first.\" "
            "Attempted failover to alternate host, but that did not succeed. Either there are no alternate hosts, "
            "or delivery failed to all alternate hosts. The last endpoint attempted was 127.0.0.1:25");
}

TEST(PrimaryTargetText, NoDoublePeriod) {
  smtp::Reply r = smtp::make_reply(421, "4.4.1", "Unable to connect.");
  EXPECT_NE(primary_target_text(r, "[::1]:2525").find("\"421 4.4.1 Unable to connect.\" Attempted"), std::string::npos);
  EXPECT_NE(primary_target_text(r, "[::1]:2525").find("was [::1]:2525"), std::string::npos);
}

TEST(QueueLastError, SocketErrorIsTheReplyItself) {
  auto r = failure_reply(Failure::SocketError, "127.0.0.1:25", "");
  EXPECT_EQ(queue_last_error(Failure::SocketError, r, "127.0.0.1:25"),
            "421 4.4.2 Connection dropped due to SocketError");
}

TEST(QueueLastError, RemoteTransientIsWrapped) {
  smtp::Reply r = smtp::make_reply(451, "5.7.3", "Must issue a STARTTLS command first");
  EXPECT_EQ(queue_last_error(Failure::RemoteTransient, r, "127.0.0.1:25").rfind("451 4.4.0 Primary target", 0), 0u);
  EXPECT_EQ(queue_last_error(Failure::RemotePermanent, smtp::make_reply(550, "5.1.1", "no"), "x"), "550 5.1.1 no");
  EXPECT_EQ(queue_last_error(Failure::None, {}, "x"), "");
}

}  // namespace
}  // namespace sluice::outbound

#include "outbound/record_outcome.h"

namespace sluice::outbound {
namespace {

TEST(AuthenticationFailed, DefersWithTheServersReplyQuotedEvenForA535) {
  const auto reply =
      failure_reply(Failure::AuthenticationFailed, "127.0.0.1:587",
                    "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant");
  EXPECT_EQ(reply.one_line(),
            "451 4.7.0 Cannot authenticate to 127.0.0.1:587: 535 5.7.139 Authentication unsuccessful, "
            "SmtpClientAuthentication is disabled for the Tenant");
  EXPECT_EQ(failure_name(Failure::AuthenticationFailed), "AuthenticationFailed");
  EXPECT_EQ(queue_last_error(Failure::AuthenticationFailed, reply, "127.0.0.1:587"), reply.one_line());

  AttemptResult result;
  result.failure = Failure::AuthenticationFailed;
  result.reply = reply;
  result.recipients = {reply};
  result.endpoint = "127.0.0.1:587";
  EXPECT_TRUE(hop_failed(result));
  queue::Envelope envelope;
  envelope.recipients.push_back({.address = "bob@cloud.test"});
  const auto now = std::chrono::system_clock::now();
  auto failed = record_attempt(envelope, {0}, result, now, [&](const queue::Envelope&, const queue::Recipient&) {
    return now + std::chrono::minutes(1);
  });
  EXPECT_TRUE(failed.empty());
  EXPECT_EQ(envelope.recipients[0].state, queue::Recipient::State::Deferred);
  EXPECT_EQ(envelope.recipients[0].last_reply, reply);
  // Only the lifetime ends it.
  envelope.recipients[0].state = queue::Recipient::State::Pending;
  failed = record_attempt(envelope, {0}, result, now,
                          [](const queue::Envelope&, const queue::Recipient&) { return std::nullopt; });
  EXPECT_EQ(failed, std::vector<std::size_t>{0});
  EXPECT_EQ(envelope.recipients[0].last_reply, reply);
}

TEST(RecordLocal, A5xxFailsTheRecipientAndAnythingElseDefersIt) {
  queue::Envelope envelope;
  for (const char* address : {"a@local.test", "b@local.test", "c@local.test"})
    envelope.recipients.push_back({.address = address});
  const auto now = std::chrono::system_clock::now();
  const smtp::Reply loop = smtp::make_reply(554, "5.4.14", "Hop count exceeded - possible mail loop");
  const smtp::Reply full = smtp::make_reply(451, "4.3.0", "Local delivery failed: No space left on device");
  std::vector<Result<void, smtp::Reply>> results;
  results.emplace_back();
  results.push_back(fail(loop));
  results.push_back(fail(full));
  auto failed =
      record_local(envelope, {0, 1, 2}, results, false, now,
                   [&](const queue::Envelope&, const queue::Recipient&) { return now + std::chrono::minutes(1); });
  EXPECT_EQ(failed, std::vector<std::size_t>{1});
  EXPECT_EQ(envelope.recipients[0].state, queue::Recipient::State::Delivered);
  EXPECT_EQ(envelope.recipients[1].state, queue::Recipient::State::Failed);
  EXPECT_EQ(envelope.recipients[1].last_reply, loop);
  EXPECT_EQ(envelope.recipients[2].state, queue::Recipient::State::Deferred);
  EXPECT_EQ(envelope.recipients[2].last_reply, full);
}

}  // namespace
}  // namespace sluice::outbound
