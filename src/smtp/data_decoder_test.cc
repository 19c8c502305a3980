#include "smtp/data_decoder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sluice::smtp {
namespace {

using namespace std::literals;
using Defect = DataDecoder::Defect;

struct Outcome {
  std::size_t consumed = 0;
  bool done = false;
  Defect defect = Defect::None;
  std::string content;
  std::size_t size = 0;
  bool operator==(const Outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  return os << "{consumed=" << o.consumed << " done=" << o.done << " defect=" << static_cast<int>(o.defect)
            << " size=" << o.size << " content=" << testing::PrintToString(o.content) << "}";
}

/// Feeds `chunks` in order the way a session would: stop at the end of data, keep the rest, and
/// take the content decoded so far after each feed (clear_content), as the session streams it.
Outcome decode(const std::vector<std::string_view>& chunks, std::size_t max_size = 1 << 20,
               std::size_t max_line = 1000) {
  DataDecoder d(max_size, max_line);
  Outcome o;
  for (auto chunk : chunks) {
    const std::size_t n = d.feed(chunk);
    EXPECT_LE(n, chunk.size());
    o.consumed += n;
    o.content += d.content();
    d.clear_content();
    if (d.done()) break;
    EXPECT_EQ(n, chunk.size()) << "stopped early without finding the end";
  }
  o.done = d.done();
  o.defect = d.defect();
  EXPECT_EQ(d.content(), "");
  o.size = d.size();
  return o;
}

Outcome decode_whole(std::string_view input, std::size_t max_size = 1 << 20, std::size_t max_line = 1000) {
  return decode({input}, max_size, max_line);
}

/// Every two-way split and byte-by-byte feeding must give exactly the whole-buffer outcome.
void expect_split_invariant(std::string_view input, std::size_t max_size = 1 << 20, std::size_t max_line = 1000) {
  const Outcome whole = decode_whole(input, max_size, max_line);
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    EXPECT_EQ(decode({input.substr(0, cut), input.substr(cut)}, max_size, max_line), whole)
        << "split at " << cut << " of " << testing::PrintToString(std::string(input));
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
  EXPECT_EQ(decode(bytes, max_size, max_line), whole) << "byte by byte";
}

TEST(DataDecoderTest, SimpleMessage) {
  const auto input = "Subject: hi\r\n\r\nbody\r\n.\r\n"sv;
  const Outcome o = decode_whole(input);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.consumed, input.size());
  EXPECT_EQ(o.defect, Defect::None);
  EXPECT_EQ(o.content, "Subject: hi\r\n\r\nbody\r\n");
  EXPECT_EQ(o.size, o.content.size());
  expect_split_invariant(input);
}

TEST(DataDecoderTest, EmptyMessage) {
  const Outcome o = decode_whole(".\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.consumed, 3u);
  EXPECT_EQ(o.defect, Defect::None);
  EXPECT_EQ(o.content, "");
  EXPECT_EQ(o.size, 0u);
}

TEST(DataDecoderTest, EmptyLinesOnly) {
  const Outcome o = decode_whole("\r\n\r\n.\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.consumed, 7u);
  EXPECT_EQ(o.content, "\r\n\r\n");
}

TEST(DataDecoderTest, DotUnstuffing) {
  const auto input = "..foo\r\n...\r\n. \r\nmid.dle\r\n..\r\n.\r\n"sv;
  const Outcome o = decode_whole(input);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.consumed, input.size());
  EXPECT_EQ(o.defect, Defect::None);
  EXPECT_EQ(o.content, ".foo\r\n..\r\n \r\nmid.dle\r\n.\r\n");
  expect_split_invariant(input);
}

TEST(DataDecoderTest, PipelinedBytesAfterEndAreNotConsumed) {
  const auto input = "a\r\n.\r\nMAIL FROM:<x@y.example>\r\n"sv;
  DataDecoder d(1000);
  EXPECT_EQ(d.feed(input), 6u);
  EXPECT_TRUE(d.done());
  EXPECT_EQ(d.content(), "a\r\n");
  EXPECT_EQ(d.feed("more"), 0u);
  EXPECT_EQ(d.feed(""), 0u);
  EXPECT_EQ(d.content(), "a\r\n");
  expect_split_invariant(input);
}

TEST(DataDecoderTest, EmptyFeedBeforeEnd) {
  DataDecoder d(1000);
  EXPECT_EQ(d.feed(""), 0u);
  EXPECT_FALSE(d.done());
}

TEST(DataDecoderTest, CrAtChunkEndWaitsForNextByte) {
  DataDecoder d(1000);
  EXPECT_EQ(d.feed("a\r"), 2u);
  EXPECT_FALSE(d.done());
  EXPECT_EQ(d.defect(), Defect::None);
  EXPECT_EQ(d.feed("\n.\r"), 3u);
  EXPECT_FALSE(d.done());
  EXPECT_EQ(d.defect(), Defect::None);
  EXPECT_EQ(d.feed("\nNEXT"), 1u);
  EXPECT_TRUE(d.done());
  EXPECT_EQ(d.defect(), Defect::None);
  EXPECT_EQ(d.content(), "a\r\n");
  d.clear_content();
  EXPECT_EQ(d.content(), "");

  DataDecoder bare(1000);
  EXPECT_EQ(bare.feed("a\r"), 2u);
  EXPECT_EQ(bare.defect(), Defect::None);
  bare.feed("b");
  EXPECT_EQ(bare.defect(), Defect::BareCr);
}

TEST(DataDecoderTest, BareLfAndCrAreDefectsButNotEnds) {
  Outcome lf = decode_whole("a\nb\r\n.\r\n");
  EXPECT_TRUE(lf.done);
  EXPECT_EQ(lf.defect, Defect::BareLf);
  EXPECT_EQ(lf.content, "a\nb\r\n");

  Outcome cr = decode_whole("a\rb\r\n.\r\n");
  EXPECT_TRUE(cr.done);
  EXPECT_EQ(cr.defect, Defect::BareCr);
  EXPECT_EQ(cr.content, "a\rb\r\n");

  Outcome crcr = decode_whole("a\r\r\n.\r\n");
  EXPECT_EQ(crcr.defect, Defect::BareCr);
  EXPECT_EQ(crcr.content, "a\r\r\n");
  EXPECT_EQ(crcr.consumed, 7u);

  // First defect wins.
  EXPECT_EQ(decode_whole("a\rb\nc\r\n.\r\n").defect, Defect::BareCr);
  EXPECT_EQ(decode_whole("a\nb\rc\r\n.\r\n").defect, Defect::BareLf);
}

TEST(DataDecoderTest, LineBreakSearchFindsAnLfBeforeALaterCrAndLongRuns) {
  // The scan looks for CR first and then for LF before it: an LF far before the next CR, and
  // text with no CR at all in the chunk, are both found where they are.
  const std::string long_text(70000, 'x');
  Outcome lf_first = decode_whole(long_text + "\n" + long_text + "\r\n.\r\n", 1 << 20, 1 << 20);
  EXPECT_TRUE(lf_first.done);
  EXPECT_EQ(lf_first.defect, Defect::BareLf);
  EXPECT_EQ(lf_first.content, long_text + "\n" + long_text + "\r\n");

  Outcome no_cr_yet = decode({long_text, "\n", "y\r\n.\r\n"}, 1 << 20, 1 << 20);
  EXPECT_EQ(no_cr_yet.defect, Defect::BareLf);
  EXPECT_EQ(no_cr_yet.content, long_text + "\ny\r\n");

  Outcome clean = decode({"ab", "cd\r", "\nef\r\n.", "\r\n"});
  EXPECT_TRUE(clean.done);
  EXPECT_EQ(clean.defect, Defect::None);
  EXPECT_EQ(clean.content, "abcd\r\nef\r\n");
}

// SMTP smuggling (December 2023): an end-of-data sequence that some other MTA accepts must
// not end the data here; the message must carry a defect so the session refuses it.
struct SmugglingCase {
  std::string_view fake_end;
  Defect expected;
};

void PrintTo(const SmugglingCase& c, std::ostream* os) { *os << testing::PrintToString(std::string(c.fake_end)); }

class SmugglingTest : public testing::TestWithParam<SmugglingCase> {};

TEST_P(SmugglingTest, FakeEndDoesNotTerminate) {
  const auto [fake_end, expected] = GetParam();
  const std::string smuggled =
      "MAIL FROM:<admin@bank.example>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\n"
      "Subject: smuggled\r\n\r\nhi";
  const std::string message = "Subject: real\r\n\r\nbody" + std::string(fake_end) + smuggled + "\r\n.\r\n";
  const std::string input = message + "QUIT\r\n";

  const Outcome o = decode_whole(input);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.consumed, message.size()) << "the real end is the only end";
  EXPECT_EQ(o.defect, expected);
  EXPECT_NE(o.content.find("MAIL FROM:<admin@bank.example>"), std::string::npos)
      << "the smuggled commands stay inside the refused message";
  expect_split_invariant(input);

  // Up to and including the fake end and the smuggled commands, the data is not over.
  DataDecoder d(1 << 20);
  const std::string prefix = "Subject: real\r\n\r\nbody" + std::string(fake_end) + smuggled;
  EXPECT_EQ(d.feed(prefix), prefix.size());
  EXPECT_FALSE(d.done());
  EXPECT_EQ(d.defect(), expected);

  // The same fake end right at the start of the data is no end either.
  const std::string at_start = std::string(fake_end) + "x\r\n.\r\n";
  const Outcome s = decode_whole(at_start);
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.consumed, at_start.size());
  EXPECT_NE(s.defect, Defect::None);
}

INSTANTIATE_TEST_SUITE_P(
    Variants, SmugglingTest,
    testing::Values(SmugglingCase{"\n.\n", Defect::BareLf}, SmugglingCase{"\n.\r\n", Defect::BareLf},
                    SmugglingCase{"\r.\r", Defect::BareCr}, SmugglingCase{"\r\n.\n", Defect::BareLf},
                    SmugglingCase{"\r.\r\n", Defect::BareCr}, SmugglingCase{"\r\n.\r\r\n", Defect::BareCr},
                    SmugglingCase{"\r\n.\r", Defect::BareCr}, SmugglingCase{"\n\n.\n\n", Defect::BareLf}));

TEST(DataDecoderTest, LineLengthLimitIncludesCrlf) {
  const std::string ok_line(998, 'a');
  const Outcome ok = decode_whole(ok_line + "\r\n.\r\n");
  EXPECT_EQ(ok.defect, Defect::None);
  EXPECT_TRUE(ok.done);

  const std::string long_line(999, 'a');
  const std::string input = "short\r\n" + long_line + "\r\nafter\r\n.\r\nQUIT\r\n";
  const Outcome bad = decode_whole(input);
  EXPECT_EQ(bad.defect, Defect::LineTooLong);
  EXPECT_TRUE(bad.done) << "scanning goes on to the real end";
  EXPECT_EQ(bad.consumed, input.size() - 6);
  EXPECT_EQ(bad.content, "short\r\n" + long_line + "\r\nafter\r\n");

  // The transparency dot does not count: the sender's line was 998 octets.
  EXPECT_EQ(decode_whole("." + ok_line + "\r\n.\r\n").defect, Defect::None);
  EXPECT_EQ(decode_whole("." + long_line + "\r\n.\r\n").defect, Defect::LineTooLong);
}

TEST(DataDecoderTest, LineLengthAcrossChunksWithSmallLimit) {
  // Limit 6: "abcd\r\n" fits, "abcde\r\n" does not, whichever way the bytes arrive.
  expect_split_invariant("abcd\r\nab\r\n.\r\n", 1000, 6);
  EXPECT_EQ(decode_whole("abcd\r\nab\r\n.\r\n", 1000, 6).defect, Defect::None);
  expect_split_invariant("abcde\r\n.\r\n", 1000, 6);
  EXPECT_EQ(decode_whole("abcde\r\n.\r\n", 1000, 6).defect, Defect::LineTooLong);
  // A bare CR is an octet of the line: the first defect (BareCr) still wins.
  EXPECT_EQ(decode_whole("abc\rd\r\n.\r\n", 1000, 6).defect, Defect::BareCr);
  // An empty line cannot fit a limit below 2.
  EXPECT_EQ(decode_whole("\r\n.\r\n", 1000, 1).defect, Defect::LineTooLong);
}

TEST(DataDecoderTest, TooBigKeepsCountingAndFindsEnd) {
  const auto input = "0123456789abc\r\n.\r\nNOOP\r\n"sv;
  const Outcome o = decode_whole(input, 10);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.consumed, input.size() - 6);
  EXPECT_EQ(o.defect, Defect::TooBig);
  EXPECT_EQ(o.content, "0123456789");
  EXPECT_EQ(o.size, 15u);
  expect_split_invariant(input, 10);

  DataDecoder exact(5);
  exact.feed("abc\r\n.\r\n");
  EXPECT_TRUE(exact.done());
  EXPECT_EQ(exact.defect(), Defect::None);
  EXPECT_FALSE(exact.truncated());
  EXPECT_EQ(exact.content(), "abc\r\n");

  DataDecoder zero(0);
  zero.feed("a\r\n.\r\n");
  EXPECT_TRUE(zero.done());
  EXPECT_EQ(zero.defect(), Defect::TooBig);
  EXPECT_TRUE(zero.truncated());
  EXPECT_EQ(zero.content(), "");
  EXPECT_EQ(zero.size(), 3u);
}

TEST(DataDecoderTest, EarlierDefectWinsOverTooBigButTruncatedTells) {
  DataDecoder d(4);
  d.feed("a\nbcdefg\r\n.\r\n");
  EXPECT_TRUE(d.done());
  EXPECT_EQ(d.defect(), Defect::BareLf);
  EXPECT_TRUE(d.truncated());
  EXPECT_EQ(d.content(), "a\nbc");
  EXPECT_EQ(d.size(), 10u);
}

// Found by fuzz/smtp_data_fuzz.cc: a line that passes max_size before it passes the line limit
// was reported LineTooLong when read in one piece but TooBig byte by byte (552 or 550 then
// depended on how TCP split the bytes). Byte order decides: here max_size is passed first.
TEST(DataDecoderTest, FirstLimitPassedDecidesTheDefectInEveryFeeding) {
  const auto input = "0123456789\r\n.\r\n"sv;
  EXPECT_EQ(decode_whole(input, 2, 8).defect, Defect::TooBig);
  expect_split_invariant(input, 2, 8);
  EXPECT_EQ(decode_whole(input, 8, 4).defect, Defect::LineTooLong);
  expect_split_invariant(input, 8, 4);
  expect_split_invariant(input, 0, 2);
}

TEST(DataDecoderTest, SplitInvariantCorpus) {
  const std::string_view corpus[] = {
      "a\r\n.\r\n"sv,         ".\r\n"sv,
      "..\r\n.\r\n"sv,        ".x\r\n.\r\nEXTRA"sv,
      "a\r\r\r\n.\r\n"sv,     "\r\n.\r.\r\n.\r\n"sv,
      ".\r.\r\n.\r\n"sv,      "x\r\n.\n.\r\n.\r\n"sv,
      "no end at all\r\n."sv, "no end at all\r\n.\r"sv,
  };
  for (auto input : corpus) expect_split_invariant(input);
  for (auto input : corpus) expect_split_invariant(input, 3, 4);
}

TEST(DataDecoderTest, IncompleteEndIsNotAnEnd) {
  DataDecoder d(1000);
  EXPECT_EQ(d.feed("x\r\n.\r"), 5u);
  EXPECT_FALSE(d.done());
  EXPECT_EQ(d.feed("x"), 1u);
  EXPECT_FALSE(d.done());
  EXPECT_EQ(d.defect(), Defect::BareCr);
  EXPECT_EQ(d.content(), "x\r\n\rx");
}

}  // namespace
}  // namespace sluice::smtp
