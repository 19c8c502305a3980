// The REQUIRETLS decisions around the client: which targets a message may go to, and how an
// attempt that found no server able to take it ends (outbound/requiretls.h).
#include "outbound/requiretls.h"

#include <gtest/gtest.h>

namespace sluice::outbound {
namespace {

Target target(std::string host, TlsLevel level, bool testing = false) {
  Target t;
  t.host = std::move(host);
  t.tls.level = level;
  t.tls.testing = testing;
  return t;
}

Transaction with_requiretls(std::string mail_from = "alice@example.org") {
  Transaction t;
  t.mail_from = std::move(mail_from);
  t.recipients = {"bob@partner.example", "carol@partner.example"};
  t.requiretls = true;
  return t;
}

TEST(RequireTlsTargets, OnlyAuthenticatedTargetsAreKeptInOrder) {
  std::vector<Target> targets = {target("mx1", TlsLevel::May), target("mx2", TlsLevel::Dane),
                                 target("mx3", TlsLevel::Verify, /*testing=*/true), target("mx4", TlsLevel::Verify)};
  auto kept = requiretls_targets(with_requiretls(), targets, "partner.example");
  ASSERT_TRUE(kept);
  ASSERT_EQ(kept->size(), 2u);
  EXPECT_EQ((*kept)[0].host, "mx2");
  EXPECT_EQ((*kept)[1].host, "mx4");
  // Without REQUIRETLS, or for a notice, nothing is taken away.
  Transaction plain = with_requiretls();
  plain.requiretls = false;
  EXPECT_EQ(requiretls_targets(plain, targets, "partner.example")->size(), 4u);
  EXPECT_EQ(requiretls_targets(with_requiretls(""), targets, "partner.example")->size(), 4u);
}

TEST(RequireTlsTargets, NoAuthenticatedTargetIs550With5710) {
  auto none = requiretls_targets(with_requiretls(), {target("mx1", TlsLevel::Encrypt)}, "partner.example");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, 550);
  EXPECT_EQ(none.error().enhanced, "5.7.10");
  EXPECT_NE(none.error().one_line().find("no authenticated TLS to partner.example"), std::string::npos);
}

AttemptResult failed_with(Failure failure, smtp::Reply reply) {
  AttemptResult r;
  r.failure = failure;
  r.reply = reply;
  r.recipients = {reply, reply};
  return r;
}

TEST(SettleRequireTls, TlsFailuresAndMissingSupportFailTheRecipientsAtOnce) {
  auto missing = failed_with(Failure::TlsUnavailable,
                             smtp::make_reply(550, "5.7.30", "REQUIRETLS support required: mx does not offer it"));
  settle_requiretls(with_requiretls(), missing);
  EXPECT_EQ(missing.failure, Failure::RemotePermanent);  // not a hop failure: the hop is well
  EXPECT_EQ(missing.recipients[1].enhanced, "5.7.30");

  auto untrusted =
      failed_with(Failure::CertificateInvalid,
                  smtp::make_reply(450, "4.4.317", "Cannot connect to remote server: certificate of mx rejected: x"));
  settle_requiretls(with_requiretls(), untrusted);
  EXPECT_EQ(untrusted.failure, Failure::RemotePermanent);
  EXPECT_EQ(untrusted.reply.one_line(),
            "550 5.7.10 REQUIRETLS: 450 4.4.317 Cannot connect to remote server: certificate of mx rejected: x");
  EXPECT_EQ(untrusted.recipients[0], untrusted.reply);
}

TEST(SettleRequireTls, EverythingElseIsLeftAsItIs) {
  const auto dropped = smtp::make_reply(421, "4.4.2", "Connection dropped due to SocketError");
  auto socket = failed_with(Failure::SocketError, dropped);
  settle_requiretls(with_requiretls(), socket);
  EXPECT_EQ(socket.failure, Failure::SocketError);  // retried as any message
  EXPECT_EQ(socket.reply, dropped);

  const auto untrusted = smtp::make_reply(450, "4.4.317", "Cannot connect to remote server");
  auto plain = failed_with(Failure::CertificateInvalid, untrusted);
  Transaction without = with_requiretls();
  without.requiretls = false;
  settle_requiretls(without, plain);
  EXPECT_EQ(plain.failure, Failure::CertificateInvalid);
  auto notice = failed_with(Failure::CertificateInvalid, untrusted);
  settle_requiretls(with_requiretls(""), notice);
  EXPECT_EQ(notice.failure, Failure::CertificateInvalid);

  AttemptResult delivered;
  delivered.recipients = {smtp::make_reply(250, "2.0.0", "ok"), smtp::make_reply(250, "2.0.0", "ok")};
  delivered.data_accepted = delivered.transaction_started = true;
  settle_requiretls(with_requiretls(), delivered);
  EXPECT_EQ(delivered.failure, Failure::None);
  EXPECT_EQ(delivered.recipients[0].code, 250);
}

}  // namespace
}  // namespace sluice::outbound
