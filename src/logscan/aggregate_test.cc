#include "logscan/aggregate.h"

#include <gtest/gtest.h>

namespace sluice::logscan {
namespace {

TEST(Aggregate, MergeSumsAndKeepsFirstMalformedLinesInOrder) {
  Aggregate a, b;
  a.lines = 10;
  b.lines = 5;
  for (std::uint64_t i = 0; i < 8; ++i) b.add_malformed("b.log", i + 1, "x");
  for (std::uint64_t i = 0; i < 8; ++i) a.add_malformed("a.log", i + 100, "y");
  a.hours[0][1] = 2;
  b.hours[0][1] = 3;
  b.hours[3600000][4] = 1;
  a.merge(std::move(b));
  EXPECT_EQ(a.lines, 15u);
  EXPECT_EQ(a.malformed, 16u);
  ASSERT_EQ(a.malformed_examples.size(), Aggregate::kMaxMalformedExamples);
  EXPECT_EQ(a.malformed_examples.front().file, "a.log");
  EXPECT_EQ(a.malformed_examples.front().line, 100u);
  EXPECT_EQ(a.hours[0][1], 5u);
  EXPECT_EQ(a.hours[3600000][4], 1u);
}

TEST(Aggregate, ShiftLinesOnlyForThatFile) {
  Aggregate a;
  a.add_malformed("x", 3, "t");
  a.add_malformed("y", 3, "t");
  a.shift_lines("x", 100);
  EXPECT_EQ(a.malformed_examples[0].line, 103u);
  EXPECT_EQ(a.malformed_examples[1].line, 3u);
}

TEST(Aggregate, LegacyPeersAndFindings) {
  Aggregate a;
  EXPECT_FALSE(a.has_findings());
  PeerStats& p = a.peers["k"];
  p.sessions[3] = 5;
  EXPECT_FALSE(p.is_legacy_peer());
  EXPECT_FALSE(a.has_findings());
  p.refused_legacy = 1;
  EXPECT_TRUE(p.is_legacy_peer());
  EXPECT_TRUE(a.has_findings());
}

TEST(Aggregate, NamesSortedUniqueAndBounded) {
  PeerStats p;
  for (auto n : {"b", "a", "b", "c", "d", "e", "f", ""}) p.add_name(n);
  EXPECT_EQ(p.names, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
}

TEST(Aggregate, CutUtf8DoesNotSplitACharacter) {
  EXPECT_EQ(cut_utf8("组织内", 4), "组");
  EXPECT_EQ(cut_utf8("abc", 10), "abc");
}

}  // namespace
}  // namespace sluice::logscan
