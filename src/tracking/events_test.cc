#include "tracking/events.h"

#include <gtest/gtest.h>

namespace sluice::tracking {
namespace {

using State = queue::Recipient::State;
using std::chrono::system_clock;

TEST(QueuedAs, ReadsTheNextHopsIdFromItsReply) {
  EXPECT_EQ(queued_as("250 2.0.0 Ok: queued as ABC123"), "ABC123");
  EXPECT_EQ(queued_as("250 2.6.0 <m@x> [InternalId=12345, Hostname=EX01] Queued mail for delivery"), "12345");
  EXPECT_EQ(queued_as("250 OK id=1tXyZa-000abc-2B"), "1tXyZa-000abc-2B");
  EXPECT_EQ(queued_as("250 2.6.0 0123456789ABCDEF Queued mail for delivery"), "0123456789ABCDEF");
  EXPECT_EQ(queued_as("250 2.0.0 OK 1700000000 a1si123 - gsmtp"), "");
  EXPECT_EQ(queued_as("250 2.6.0 Queued mail for delivery"), "");
  EXPECT_EQ(queued_as(""), "");
}

TEST(EndpointAddress, StripsPortAndBrackets) {
  EXPECT_EQ(endpoint_address("192.0.2.1:25"), "192.0.2.1");
  EXPECT_EQ(endpoint_address("[2001:db8::1]:25"), "2001:db8::1");
  EXPECT_EQ(endpoint_address("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(endpoint_address(""), "");
}

queue::Envelope message(std::vector<std::string> recipients) {
  queue::Envelope e;
  e.id = "0123456789ABCDEF";
  e.message_id = "<m1@example.org>";
  e.mail_from = "alice@example.org";
  e.size = 2048;
  e.client_address = "192.0.2.50";
  e.client_helo = "client.example.org";
  e.connector = "Default Frontend";
  e.tls_version = "TLS1_3";
  e.tls_cipher = "TLS_AES_256_GCM_SHA384";
  for (auto& a : recipients) e.recipients.emplace_back().address = a;
  return e;
}

const Origin kOrigin{"mx.sluice.test"};
const system_clock::time_point kNow = system_clock::time_point(std::chrono::seconds(1'800'000'000));

TEST(TrackingEvents, ReceiveNamesClientServerTlsAndEveryRecipient) {
  auto e = message({"bob@example.net", "carol@example.net"});
  Record r = receive_record(kOrigin, e, "[::1]:2525", "08D0000000000001", kNow);
  EXPECT_EQ(r[kEventId], "RECEIVE");
  EXPECT_EQ(r[kSource], "SMTP");
  EXPECT_EQ(r[kClientIp], "192.0.2.50");
  EXPECT_EQ(r[kClientHostname], "client.example.org");
  EXPECT_EQ(r[kServerIp], "::1");
  EXPECT_EQ(r[kServerHostname], "mx.sluice.test");
  EXPECT_EQ(r[kSourceContext], "08D0000000000001");
  EXPECT_EQ(r[kConnectorId], "Default Frontend");
  EXPECT_EQ(r[kInternalMessageId], "0123456789ABCDEF");
  EXPECT_EQ(r[kMessageId], "<m1@example.org>");
  EXPECT_EQ(r[kRecipientAddress], "bob@example.net;carol@example.net");
  EXPECT_EQ(r[kRecipientCount], "2");
  EXPECT_EQ(r[kTotalBytes], "2048");
  EXPECT_EQ(r[kSenderAddress], "alice@example.org");
  EXPECT_EQ(r.custom(kTlsVersionKey), "TLS1_3");
  EXPECT_EQ(r.custom(kTlsCipherKey), "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(r.time, kNow);
  EXPECT_EQ(r.custom(kOriginalSenderKey), "");
}

TEST(TrackingEvents, ReceiveKeepsTheSenderBeforeRewrite) {
  auto e = message({"bob@example.net"});
  e.mail_from = "alerts@contoso.com";
  e.original_mail_from = "root@localhost";
  Record r = receive_record(kOrigin, e, "[::1]:2525", "08D0000000000001", kNow);
  EXPECT_EQ(r[kSenderAddress], "alerts@contoso.com");
  EXPECT_EQ(r.custom(kOriginalSenderKey), "root@localhost");
}

TEST(TrackingEvents, AnAttemptGivesSendDeferAndFailPerRecipientGroup) {
  auto before = message({"a@x.test", "b@x.test", "c@x.test", "d@x.test"});
  auto after = before;
  after.recipients[0].state = State::Delivered;
  after.recipients[0].last_reply = smtp::make_reply(250, "2.0.0", "Ok: queued as ABC123");
  after.recipients[1].state = State::Delivered;
  after.recipients[1].last_reply = after.recipients[0].last_reply;
  after.recipients[2].state = State::Deferred;
  after.recipients[2].attempts = 1;
  after.recipients[2].last_reply = smtp::make_reply(450, "4.2.0", "Mailbox busy");
  after.recipients[3].state = State::Failed;
  after.recipients[3].last_reply = smtp::make_reply(550, "5.1.1", "User unknown");
  Hop hop{.connector = "Outbound",
          .host = "mx.x.test",
          .endpoint = "192.0.2.9:25",
          .local_endpoint = "192.0.2.1:40000",
          .tls_version = "TLS1_2",
          .tls_cipher = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"};
  auto records = outcome_records(kOrigin, &before, after, {}, &hop, kNow);
  ASSERT_EQ(records.size(), 3u);
  const Record& send = records[0];
  EXPECT_EQ(send[kEventId], "SEND");
  EXPECT_EQ(send[kRecipientAddress], "a@x.test;b@x.test");
  EXPECT_EQ(send[kRecipientStatus], "250 2.0.0 Ok: queued as ABC123");
  EXPECT_EQ(send.custom(kQueuedAsKey), "ABC123");
  EXPECT_EQ(send.custom(kTlsVersionKey), "TLS1_2");
  EXPECT_EQ(send[kServerIp], "192.0.2.9");
  EXPECT_EQ(send[kServerHostname], "mx.x.test");
  EXPECT_EQ(send[kClientIp], "192.0.2.1");
  EXPECT_EQ(send[kClientHostname], "mx.sluice.test");
  EXPECT_EQ(send[kConnectorId], "Outbound");
  EXPECT_EQ(records[1][kEventId], "DEFER");
  EXPECT_EQ(records[1][kRecipientAddress], "c@x.test");
  EXPECT_NE(records[1][kRecipientStatus].find("{LED=450 4.2.0 Mailbox busy}"), std::string::npos);
  EXPECT_NE(records[1][kRecipientStatus].find("{FQDN=mx.x.test};{IP=192.0.2.9}"), std::string::npos);
  EXPECT_EQ(records[2][kEventId], "FAIL");
  EXPECT_EQ(records[2][kRecipientStatus], "550 5.1.1 User unknown");
  EXPECT_EQ(records[2][kSource], "SMTP");

  // The same envelope again: nothing new happened, nothing is written.
  EXPECT_TRUE(outcome_records(kOrigin, &after, after, {}, &hop, kNow).empty());
}

TEST(TrackingEvents, LocalDeliveryIsDeliverAndExpiryIsFailWithTheLastError) {
  auto before = message({"bob@sluice.test", "carol@far.test"});
  auto after = before;
  after.recipients[0].state = State::Delivered;
  after.recipients[0].last_reply = smtp::make_reply(250, "2.0.0", "Delivered to the local mailbox");
  Hop local{.local = true};
  auto delivered = outcome_records(kOrigin, &before, after, {}, &local, kNow);
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0][kEventId], "DELIVER");
  EXPECT_EQ(delivered[0][kSource], "STOREDRIVER");
  EXPECT_EQ(delivered[0][kRecipientAddress], "bob@sluice.test");

  auto expired = after;
  expired.recipients[1].state = State::Failed;
  expired.recipients[1].last_reply = smtp::make_reply(421, "4.4.2", "Connection dropped due to SocketError");
  auto failed = outcome_records(kOrigin, &after, expired, {}, nullptr, kNow);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0][kEventId], "FAIL");
  EXPECT_EQ(failed[0][kSource], "ROUTING");
  EXPECT_EQ(failed[0][kRecipientAddress], "carol@far.test");
  EXPECT_EQ(failed[0][kRecipientStatus],
            "550 4.4.7 QUEUE.Expired; message expired (last error: 421 4.4.2 Connection dropped due to SocketError)");
}

TEST(TrackingEvents, AMessageTakenOverReportsOnlyWhatFailedJustNow) {
  // Read back from the spool after a restart: bob was delivered and carol deferred by the run
  // before (recorded then); dan is unroutable under the new configuration.
  auto reloaded = message({"bob@x.test", "carol@y.test", "dan@z.test"});
  reloaded.recipients[0].state = State::Delivered;
  reloaded.recipients[1].state = State::Deferred;
  reloaded.recipients[1].attempts = 3;
  reloaded.recipients[2].state = State::Failed;
  reloaded.recipients[2].last_reply = smtp::make_reply(554, "5.4.4", "Unable to route");
  auto records = outcome_records(kOrigin, nullptr, reloaded, {2}, nullptr, kNow);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0][kEventId], "FAIL");
  EXPECT_EQ(records[0][kRecipientAddress], "dan@z.test");
  EXPECT_EQ(records[0][kRecipientStatus], "554 5.4.4 Unable to route");
  EXPECT_TRUE(outcome_records(kOrigin, nullptr, reloaded, {}, nullptr, kNow).empty());
}

TEST(TrackingEvents, DsnLinksToTheOriginal) {
  auto original = message({"carol@far.test"});
  queue::Envelope dsn;
  dsn.id = "FEDCBA9876543210";
  dsn.message_id = "<FEDCBA9876543210@mx.sluice.test>";
  dsn.recipients.emplace_back().address = "alice@example.org";
  dsn.size = 999;
  queue::DsnRecipient row;
  row.address = "carol@far.test";
  Record r = dsn_record(kOrigin, original, dsn, {row}, false, kNow);
  EXPECT_EQ(r[kEventId], "DSN");
  EXPECT_EQ(r[kSource], "DSN");
  EXPECT_EQ(r[kInternalMessageId], "FEDCBA9876543210");
  EXPECT_EQ(r[kMessageId], "<FEDCBA9876543210@mx.sluice.test>");
  EXPECT_EQ(r[kReference], "<m1@example.org>");
  EXPECT_EQ(r.custom(kOriginalKey), "0123456789ABCDEF");
  EXPECT_EQ(r[kRecipientAddress], "alice@example.org");
  EXPECT_EQ(r[kRelatedRecipientAddress], "carol@far.test");
  EXPECT_EQ(r[kRecipientStatus], "failed");
  EXPECT_EQ(r[kSenderAddress], "");
  EXPECT_EQ(dsn_record(kOrigin, original, dsn, {row}, true, kNow)[kRecipientStatus], "delayed");
}

}  // namespace
}  // namespace sluice::tracking
