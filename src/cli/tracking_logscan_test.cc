// The message tracking log the gateway writes (src/tracking/) is read by `sluice logscan`
// (src/logscan/) as a message tracking log: both folders meet only here, in cli/.
#include <gtest/gtest.h>

#include "base/temp_dir_test_util.h"
#include "logscan/scanner.h"
#include "tracking/tracking_log.h"

namespace sluice {
namespace {

using State = queue::Recipient::State;

TEST(TrackingLogForLogscan, LogscanReadsOurMsgtrkFiles) {
  sluice::test_util::TempDir dir("sluice-track-logscan");
  {
    tracking::TrackingLog log(dir.path(), "mx.sluice.test", 1 << 20);
    queue::Envelope before;
    before.id = "0123456789ABCDEF";
    before.message_id = "<m1@old-mta.test>";
    before.mail_from = "alice@old-mta.test";
    before.client_address = "192.0.2.50";
    before.client_helo = "old-mta.test";
    before.connector = "Default Frontend";
    before.tls_version = "TLS1_0";  // a legacy client: logscan must see it in our record
    before.recipients.emplace_back().address = "bob@far.test";
    before.recipients.emplace_back().address = "carol@down.test";
    log.received(before, "192.0.2.1:25", "08D0000000000001");
    auto after = before;
    after.recipients[0].state = State::Delivered;
    after.recipients[0].last_reply = smtp::make_reply(250, "2.0.0", "Ok: queued as ABC123");
    after.recipients[1].state = State::Deferred;
    after.recipients[1].attempts = 1;
    after.recipients[1].last_reply = smtp::make_reply(421, "4.4.2", "Connection dropped due to SocketError");
    tracking::Hop hop{
        .connector = "Outbound", .host = "mx.far.test", .endpoint = "198.51.100.10:25", .tls_version = "TLS1_2"};
    log.changed(&before, after, {}, &hop);
  }
  logscan::ScanOptions options;
  options.jobs = 1;
  auto result = logscan::scan({dir.path().string()}, options);
  ASSERT_TRUE(result.errors.empty()) << result.errors.front();
  ASSERT_EQ(result.aggregate.files.size(), 1u);
  EXPECT_EQ(result.aggregate.files[0].format, "message-tracking");
  EXPECT_EQ(result.aggregate.malformed, 0u);
  EXPECT_EQ(result.aggregate.tracking_events.at("RECEIVE"), 1u);
  EXPECT_EQ(result.aggregate.tracking_events.at("SEND"), 1u);
  EXPECT_EQ(result.aggregate.tracking_events.at("DEFER"), 1u);
  auto inbound = result.aggregate.peers.find(
      logscan::Aggregate::peer_key(logscan::Direction::Inbound, "Default Frontend", "192.0.2.50"));
  ASSERT_NE(inbound, result.aggregate.peers.end());
  EXPECT_EQ(inbound->second.legacy_messages, 1u);
  auto outbound = result.aggregate.peers.find(
      logscan::Aggregate::peer_key(logscan::Direction::Outbound, "Outbound", "198.51.100.10"));
  ASSERT_NE(outbound, result.aggregate.peers.end());
  EXPECT_EQ(outbound->second.legacy_messages, 0u);
  bool socket_error = false;
  for (const auto& [key, f] : result.aggregate.failures)
    socket_error |= f.signature.find("421 4.4.2 Connection dropped due to SocketError") != std::string::npos;
  EXPECT_TRUE(socket_error);
}

}  // namespace
}  // namespace sluice
