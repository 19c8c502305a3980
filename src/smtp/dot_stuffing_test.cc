#include "smtp/dot_stuffing.h"

#include <gtest/gtest.h>

#include "smtp/data_decoder.h"

namespace sluice::smtp {
namespace {

TEST(DotStuff, EmptyMessageIsTheTerminatorAlone) { EXPECT_EQ(dot_stuff(""), ".\r\n"); }

TEST(DotStuff, FinalCrlfIsAddedOnlyWhenMissing) {
  EXPECT_EQ(dot_stuff("a\r\n"), "a\r\n.\r\n");
  EXPECT_EQ(dot_stuff("a"), "a\r\n.\r\n");
  EXPECT_EQ(dot_stuff("a\r\n\r\n"), "a\r\n\r\n.\r\n");
}

TEST(DotStuff, LeadingDotsAreDoubledAndOthersLeftAlone) {
  EXPECT_EQ(dot_stuff(".\r\n"), "..\r\n.\r\n");
  EXPECT_EQ(dot_stuff("a\r\n.b\r\n..c\r\n"), "a\r\n..b\r\n...c\r\n.\r\n");
  EXPECT_EQ(dot_stuff("x.y\r\n"), "x.y\r\n.\r\n");
  EXPECT_EQ(dot_stuff(".last"), "..last\r\n.\r\n");
}

TEST(DotStuff, BareLfAndBareCrBecomeCrlf) {
  // So "\n.\n" cannot end the data on a lenient server (SMTP smuggling).
  EXPECT_EQ(dot_stuff("a\n.\nb"), "a\r\n..\r\nb\r\n.\r\n");
  EXPECT_EQ(dot_stuff("a\r.\rb\r\n"), "a\r\n..\r\nb\r\n.\r\n");
  EXPECT_EQ(dot_stuff("a\n.b\r\n..c\nlast"), "a\r\n..b\r\n...c\r\nlast\r\n.\r\n");
}

TEST(DotStuff, TheReceivingDecoderGetsTheMessageBack) {
  const std::string message = "Subject: x\r\n\r\n.\r\n..two\r\nend.\r\n";
  DataDecoder decoder(1 << 20, 1000);
  std::string wire = dot_stuff(message);
  EXPECT_EQ(decoder.feed(wire), wire.size());
  ASSERT_TRUE(decoder.done());
  EXPECT_EQ(decoder.defect(), DataDecoder::Defect::None);
  EXPECT_EQ(decoder.content(), message);
}

}  // namespace
}  // namespace sluice::smtp
