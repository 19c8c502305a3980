#include "logscan/message_tracking_reader.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "logscan/test_support.h"

namespace sluice::logscan {
namespace {

using testing::Harness;

TEST(MessageTrackingReader, EventsLegacyMessagesAndFailures) {
  std::ifstream in(testing::data_dir() / "MSGTRK2026112707-1.LOG", std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  Harness h;
  Header header;
  MessageTrackingReader reader(h.context("trk"), header);
  h.feed(reader, s.str(), 11);
  h.done(reader);
  EXPECT_EQ(h.stats.malformed, 1u);
  ASSERT_EQ(h.aggregate.malformed_examples.size(), 1u);
  EXPECT_EQ(h.aggregate.malformed_examples[0].line, 9u);
  EXPECT_EQ(h.aggregate.tracking_events.at("RECEIVE"), 1u);
  EXPECT_EQ(h.aggregate.tracking_events.at("DEFER"), 1u);
  EXPECT_EQ(h.aggregate.tracking_events.at("SEND"), 1u);
  const PeerStats* p = h.peer(Direction::Inbound, "EX01\\Default Frontend EX01", "192.0.2.50");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->legacy_messages, 1u);
  EXPECT_TRUE(p->is_legacy_peer());
  EXPECT_EQ(p->names, std::vector<std::string>{"old-mta.example"});
  const PeerStats* ok = h.peer(Direction::Outbound, "Outbound to Partner", "198.51.100.10");
  ASSERT_NE(ok, nullptr);
  EXPECT_FALSE(ok->is_legacy_peer());
  const FailureStats* f =
      h.failure("421 4.4.2 Connection dropped due to SocketError", Direction::Outbound, "198.51.100.9");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->example.line, 7u);
  EXPECT_EQ(h.aggregate.sessions[0] + h.aggregate.sessions[1], 0u);  // tracking logs have no sessions
}

TEST(MessageTrackingReader, VersionFromReceivedHeaderText) {
  EXPECT_EQ(tracked_tls_version("with Microsoft SMTP Server (version=TLS1_2, cipher=X)"), TlsClass::Tls1_2);
  EXPECT_EQ(tracked_tls_version("(version=TLS1_1,"), TlsClass::Tls1_1);
  EXPECT_EQ(tracked_tls_version("no version here"), TlsClass::Plaintext);
  EXPECT_EQ(tracked_tls_version("version=TLS1_"), TlsClass::Plaintext);
}

}  // namespace
}  // namespace sluice::logscan
