#include "logscan/tracking_overlap.h"

#include <gtest/gtest.h>

#include "logscan/collector.h"

namespace sluice::logscan {
namespace {

constexpr Millis kTen = 10 * 3'600'000LL;  // 10:00 on the first day
constexpr Millis kMinute = 60'000;

/// A finished inbound session of `connector` from 192.0.2.1 at `start`, with `messages` messages.
void protocol_session(Collector& c, std::string_view connector, Millis start, std::uint32_t messages) {
  Session s;
  s.direction = Direction::Inbound;
  s.connector = c.intern(connector);
  s.remote = c.intern("192.0.2.1");
  s.tls = TlsClass::Tls1_2;
  s.saw_start = s.saw_end = true;
  s.messages = messages;
  s.touch(start);
  c.finish(s);
}

TEST(FoldTracking, TrackedMessagesTheProtocolLogCountsAreCountedOnce) {
  Filters f;
  Aggregate a;
  Collector c(f, a);
  protocol_session(c, "Default", kTen + 5 * kMinute, 1);
  protocol_session(c, "Default", kTen + 50 * kMinute, 1);
  // The same two messages in the tracking log, the second one after its session's hour.
  c.tracked_message(Direction::Inbound, "Default", "192.0.2.1", "client.test", kTen + 5 * kMinute, false);
  c.tracked_message(Direction::Inbound, "Default", "192.0.2.1", "client.test", kTen + 61 * kMinute, false);
  fold_tracking(a);
  const PeerStats& p = a.peers.at(Aggregate::peer_key(Direction::Inbound, "Default", "192.0.2.1"));
  EXPECT_EQ(p.messages, 2u);
  EXPECT_EQ(p.total_sessions(), 2u);
  EXPECT_TRUE(p.names.empty());  // the protocol log's session had none; tracking adds nothing here
  EXPECT_EQ(a.tracked_messages_in_protocol_log, 2u);
  EXPECT_TRUE(a.tracked_peers.empty());
}

TEST(FoldTracking, WhatTheProtocolLogsDoNotCoverIsAdded) {
  Filters f;
  Aggregate a;
  Collector c(f, a);
  protocol_session(c, "Default", kTen, 1);
  // Another connector, the same connector the next day (the protocol logs kept less), and a
  // legacy message: all missing from the protocol logs, so tracking's figures count.
  c.tracked_message(Direction::Inbound, "Partner", "192.0.2.1", "partner.test", kTen, false);
  c.tracked_message(Direction::Inbound, "Default", "192.0.2.1", "old.test", kTen + 24 * 3'600'000LL, true);
  c.tracked_message(Direction::Outbound, "Default", "198.51.100.1", "mx.test", kTen, false);
  c.tracked_failure("421 4.4.2 Connection dropped due to SocketError", Direction::Outbound, "Out", "198.51.100.1", kTen,
                    "trk", 7, "line");
  // A failure of a connector and hour the protocol log covers is the protocol log's.
  c.tracked_failure("421 4.4.2 Connection dropped due to SocketError", Direction::Inbound, "Default", "192.0.2.1",
                    kTen + kMinute, "trk", 8, "line");
  fold_tracking(a);
  EXPECT_EQ(a.peers.at(Aggregate::peer_key(Direction::Inbound, "Partner", "192.0.2.1")).messages, 1u);
  const PeerStats& old = a.peers.at(Aggregate::peer_key(Direction::Inbound, "Default", "192.0.2.1"));
  EXPECT_EQ(old.messages, 2u);  // one from its session, one tracked the next day
  EXPECT_EQ(old.legacy_messages, 1u);
  EXPECT_EQ(old.names, std::vector<std::string>{"old.test"});
  EXPECT_EQ(a.peers.at(Aggregate::peer_key(Direction::Outbound, "Default", "198.51.100.1")).messages, 1u);
  ASSERT_EQ(a.failures.size(), 1u);
  const FailureStats& fs = a.failures.begin()->second;
  EXPECT_EQ(fs.direction, Direction::Outbound);
  EXPECT_EQ(fs.remote, "198.51.100.1");
  EXPECT_EQ(fs.count, 1u);
  EXPECT_EQ(fs.example.line, 7u);
  EXPECT_EQ(a.tracked_messages_in_protocol_log, 0u);
  EXPECT_EQ(a.tracked_failures_in_protocol_log, 1u);
}

TEST(FoldTracking, TrackingAloneKeepsEverything) {
  Filters f;
  Aggregate a;
  Collector c(f, a);
  c.tracked_message(Direction::Inbound, "Default", "192.0.2.1", "a.test", kTen, true);
  c.tracked_message(Direction::Inbound, "Default", "192.0.2.1", "b.test", kTen + 2 * 3'600'000LL, false);
  fold_tracking(a);
  const PeerStats& p = a.peers.at(Aggregate::peer_key(Direction::Inbound, "Default", "192.0.2.1"));
  EXPECT_EQ(p.messages, 2u);
  EXPECT_EQ(p.legacy_messages, 1u);
  EXPECT_EQ(p.first, kTen);
  EXPECT_EQ(p.last, kTen + 2 * 3'600'000LL);
  EXPECT_EQ(p.legacy_last, kTen);
  EXPECT_EQ(a.tracked_messages_in_protocol_log, 0u);
}

}  // namespace
}  // namespace sluice::logscan
