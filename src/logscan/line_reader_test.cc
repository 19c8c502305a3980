#include "logscan/line_reader.h"

#include <gtest/gtest.h>

#include "logscan/test_support.h"

namespace sluice::logscan {
namespace {

using testing::StringSource;

struct Read {
  std::string text;
  std::uint64_t number;
  bool truncated;
};

std::vector<Read> read_all(std::string text, std::size_t chunk, std::size_t block = 8, std::size_t max_line = 64) {
  StringSource source(std::move(text), chunk);
  LineReader reader(source, block, max_line);
  std::vector<Read> out;
  std::string_view line;
  while (reader.next(line)) out.push_back({std::string(line), reader.line_number(), reader.last_was_truncated()});
  return out;
}

TEST(LineReader, SplitsLfAndCrlfAcrossSmallBlocks) {
  for (std::size_t chunk : {1u, 3u, 7u, 100u}) {
    auto lines = read_all("first\r\nsecond line\n\nthird\r\n", chunk);
    ASSERT_EQ(lines.size(), 4u) << chunk;
    EXPECT_EQ(lines[0].text, "first");
    EXPECT_EQ(lines[1].text, "second line");
    EXPECT_EQ(lines[2].text, "");
    EXPECT_EQ(lines[3].text, "third");
    EXPECT_EQ(lines[3].number, 4u);
    EXPECT_FALSE(lines[3].truncated);
  }
}

TEST(LineReader, TruncatedLastLineIsReadAsFarAsItGoes) {
  auto lines = read_all("one\ntwo, cut he", 4);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].text, "two, cut he");
  EXPECT_TRUE(lines[1].truncated);
  EXPECT_FALSE(lines[0].truncated);
}

TEST(LineReader, ExtendAppendsTheNextPhysicalLine) {
  for (std::size_t chunk : {1u, 5u, 100u}) {
    StringSource source("a,\"x\r\ny\r\nz\",b\r\nnext,line\r\n", chunk);
    LineReader reader(source, 8);
    std::string_view line;
    ASSERT_TRUE(reader.next(line));
    EXPECT_EQ(line, "a,\"x");
    ASSERT_TRUE(reader.extend(line));
    ASSERT_TRUE(reader.extend(line));
    EXPECT_EQ(line, "a,\"x\r\ny\r\nz\",b") << chunk;
    EXPECT_EQ(reader.line_number(), 1u);
    ASSERT_TRUE(reader.next(line));
    EXPECT_EQ(line, "next,line");
    EXPECT_EQ(reader.line_number(), 4u);  // physical line numbers, as an editor shows them
    EXPECT_FALSE(reader.extend(line));    // nothing after it
  }
}

TEST(LineReader, ExtendIntoACutLastLine) {
  StringSource source("a,\"open\r\ncut", 3);
  LineReader reader(source, 8);
  std::string_view line;
  ASSERT_TRUE(reader.next(line));
  ASSERT_TRUE(reader.extend(line));
  EXPECT_EQ(line, "a,\"open\r\ncut");
  EXPECT_TRUE(reader.last_was_truncated());
  EXPECT_FALSE(reader.next(line));
}

TEST(LineReader, OverlongLineIsCutAndTheRestSkipped) {
  std::string text = std::string(300, 'x') + "\nafter\n";
  auto lines = read_all(text, 16, 8, 64);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_LE(lines[0].text.size(), 64u + 8u);
  EXPECT_EQ(lines[1].text, "after");
  EXPECT_EQ(lines[1].number, 2u);
}

// Found by fuzz/logscan_exchange: a record that could not grow was handed back as a view into
// the buffer it had before the refills that moved it (a use after free).
TEST(LineReader, RecordThatCannotGrowIsStillReadable) {
  for (std::size_t chunk : {1u, 3u, 50u}) {
    std::string first = "a,\"open quote " + std::string(20, 'q');
    StringSource source("skip\n" + first + "\n" + std::string(200, 'x'), chunk);
    LineReader reader(source, 8, 64);
    std::string_view line;
    ASSERT_TRUE(reader.next(line));
    ASSERT_TRUE(reader.next(line));
    EXPECT_FALSE(reader.extend(line)) << chunk;  // the next line passes max_line
    EXPECT_EQ(line, first) << chunk;
  }
}

TEST(LineReader, EmptyInput) { EXPECT_TRUE(read_all("", 4).empty()); }

}  // namespace
}  // namespace sluice::logscan
