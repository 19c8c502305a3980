#include "base/csv.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(CsvField, PlainTextStaysAsItIs) {
  EXPECT_EQ(csv_field(""), "");
  EXPECT_EQ(csv_field("mx.example.org"), "mx.example.org");
  EXPECT_EQ(csv_field("a b;c'd"), "a b;c'd");
}

TEST(CsvField, SeparatorsQuotesAndLineBreaksAreQuoted) {
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("line\r\nnext"), "\"line\r\nnext\"");
  EXPECT_EQ(csv_field("cr\ronly"), "\"cr\ronly\"");
  std::string out = "x,";
  append_csv_field(out, "\"");
  EXPECT_EQ(out, "x,\"\"\"\"");
}

}  // namespace
}  // namespace sluice
