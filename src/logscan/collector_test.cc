#include "logscan/collector.h"

#include <gtest/gtest.h>

namespace sluice::logscan {
namespace {

Session make(Collector& c, Millis first, TlsClass tls, bool start, bool end, std::string_view remote = "192.0.2.1") {
  Session s;
  s.direction = Direction::Inbound;
  s.connector = c.intern("Default");
  s.remote = c.intern(remote);
  s.tls = tls;
  s.saw_start = start;
  s.saw_end = end;
  s.touch(first);
  return s;
}

TEST(Collector, FinishedSessionsFillPeersTimelineAndTotals) {
  Filters f;
  Aggregate a;
  Collector c(f, a);
  Session s = make(c, 7200000 + 5, TlsClass::Tls1_0, true, true);
  s.messages = 3;
  c.finish(s);
  c.finish(make(c, 7200000 + 9, TlsClass::Tls1_2, true, true));
  const PeerStats& p = a.peers.at(Aggregate::peer_key(Direction::Inbound, "Default", "192.0.2.1"));
  EXPECT_EQ(p.sessions[1], 1u);
  EXPECT_EQ(p.sessions[3], 1u);
  EXPECT_EQ(p.legacy_messages, 3u);
  EXPECT_EQ(p.legacy_first, 7200005);
  EXPECT_EQ(p.legacy_last, 7200005);
  EXPECT_EQ(p.last, 7200009);
  EXPECT_EQ(a.hours.at(7200000)[1], 1u);
  EXPECT_EQ(a.hours.at(7200000)[3], 1u);
}

TEST(Collector, PartsOfOneSessionMergeInOrder) {
  Filters f;
  Aggregate a;
  Collector c(f, a);
  Session head = make(c, 1000, TlsClass::Plaintext, true, false);
  head.messages = 1;
  Session tail = make(c, 2000, TlsClass::Tls1_1, false, true);
  tail.messages = 2;
  std::vector<PartialSession> parts;
  // Out of order on purpose: merging follows `order`, not arrival.
  parts.push_back({"X1", 1, tail, "Default", "192.0.2.1", ""});
  parts.push_back({"X1", 0, head, "Default", "192.0.2.1", "helo.test"});
  // A lone part without its start (its head is in no file we read) still counts once.
  parts.push_back({"X2", 3, make(c, 5000, TlsClass::Tls1_3, false, true), "Default", "192.0.2.2", ""});
  merge_partials(std::move(parts), c);
  const PeerStats& p = a.peers.at(Aggregate::peer_key(Direction::Inbound, "Default", "192.0.2.1"));
  EXPECT_EQ(p.total_sessions(), 1u);
  EXPECT_EQ(p.sessions[2], 1u);
  EXPECT_EQ(p.messages, 3u);
  EXPECT_EQ(p.first, 1000);
  EXPECT_EQ(p.names, std::vector<std::string>{"helo.test"});
  EXPECT_EQ(a.sessions[4], 1u);
}

TEST(Collector, TwoEndedPartsWithTheSameKeyAreTwoSessions) {
  Filters f;
  Aggregate a;
  Collector c(f, a);
  std::vector<PartialSession> parts;
  parts.push_back({"P", 0, make(c, 1000, TlsClass::Plaintext, true, true), "Default", "192.0.2.1", ""});
  parts.push_back({"P", 1, make(c, 2000, TlsClass::Plaintext, false, true), "Default", "192.0.2.1", ""});
  merge_partials(std::move(parts), c);
  EXPECT_EQ(a.sessions[0], 2u);
}

TEST(Collector, FiltersApplyToSessionsAndFailures) {
  Filters f;
  f.direction = Direction::Outbound;
  Aggregate a;
  Collector c(f, a);
  c.finish(make(c, 1000, TlsClass::Tls1_0, true, true));
  c.failure("SSL_accept error", Direction::Inbound, "postfix/smtpd", "192.0.2.1", 1000, "f", 1, "line");
  c.failure("SSL_connect error", Direction::Outbound, "postfix/smtp", "192.0.2.1", 1000, "f", 2, "line");
  EXPECT_TRUE(a.peers.empty());
  EXPECT_EQ(a.filtered_out, 1u);
  ASSERT_EQ(a.failures.size(), 1u);
  EXPECT_EQ(a.failures.begin()->second.signature, "SSL_connect error");
}

TEST(Collector, FailureKeepsTheEarliestExample) {
  Filters f;
  Aggregate a, b;
  Collector ca(f, a), cb(f, b);
  ca.failure("S", Direction::Inbound, "C", "192.0.2.1", 5000, "late.log", 9, "late");
  cb.failure("S", Direction::Inbound, "C", "192.0.2.1", 1000, "early.log", 3, "early");
  cb.failure("S", Direction::Inbound, "C", "192.0.2.1", 9000, "early.log", 4, "later");
  a.merge(std::move(b));
  const FailureStats& s = a.failures.begin()->second;
  EXPECT_EQ(s.count, 3u);
  EXPECT_EQ(s.example.file, "early.log");
  EXPECT_EQ(s.example.line, 3u);
  EXPECT_EQ(s.first, 1000);
  EXPECT_EQ(s.last, 9000);
}

}  // namespace
}  // namespace sluice::logscan
