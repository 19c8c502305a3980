#include "logscan/csv_fields.h"

#include <gtest/gtest.h>

#include <array>

namespace sluice::logscan {
namespace {

TEST(CsvFields, PlainFieldsAndEmptyOnes) {
  std::array<CsvField, 9> f;
  ASSERT_EQ(split_csv("a,,c,", f), 4);
  EXPECT_EQ(f[0].raw, "a");
  EXPECT_EQ(f[1].raw, "");
  EXPECT_EQ(f[2].raw, "c");
  EXPECT_EQ(f[3].raw, "");
  EXPECT_FALSE(f[0].quoted);
}

TEST(CsvFields, QuotedFieldWithCommasAndDoubledQuotes) {
  std::array<CsvField, 4> f;
  ASSERT_EQ(split_csv(R"(x,"a, b","say ""hi""",z)", f), 4);
  EXPECT_EQ(f[1].raw, "a, b");
  EXPECT_TRUE(f[1].quoted);
  EXPECT_EQ(f[2].raw, R"(say ""hi"")");
  EXPECT_EQ(unquote(f[2]), R"(say "hi")");
  EXPECT_EQ(unquote(f[1]), "a, b");
  EXPECT_EQ(f[3].raw, "z");
}

TEST(CsvFields, QuotedFieldMaySpanLines) {
  std::array<CsvField, 3> f;
  ASSERT_EQ(split_csv("a,\"line one\r\nline two\",c", f), 3);
  EXPECT_EQ(f[1].raw, "line one\r\nline two");
}

TEST(CsvFields, MalformedQuoting) {
  std::array<CsvField, 9> f;
  EXPECT_EQ(split_csv(R"(a,b"c,d)", f), -1);                     // quote inside an unquoted field
  EXPECT_EQ(split_csv(R"(a,"bc"d,e)", f), -1);                   // text after the closing quote
  EXPECT_EQ(split_csv(R"(a,"unterminated)", f), kUnterminated);  // may go on in the next line
  EXPECT_EQ(split_csv(R"(a,"x""y)", f), kUnterminated);
  std::array<CsvField, 2> two;
  EXPECT_EQ(split_csv("a,b,c", two), -1);  // more fields than room
  EXPECT_EQ(split_csv(R"("",x)", two), 2);
  EXPECT_EQ(two[0].raw, "");
}

}  // namespace
}  // namespace sluice::logscan
