#include "demo/text.h"

#include <gtest/gtest.h>

namespace sluice::demo {
namespace {

TEST(DemoText, IndentLines) {
  EXPECT_EQ(indent_lines("a\nb\n", "> "), "> a\n> b\n");
  EXPECT_EQ(indent_lines("a\r\n\nb", "> "), "> a\n\n> b\n");
  EXPECT_EQ(indent_lines("", "> "), "");
}

TEST(DemoText, LinesOfDropsLineEndsButNotEmptyLines) {
  EXPECT_EQ(lines_of(""), std::vector<std::string>{});
  EXPECT_EQ(lines_of("\n"), std::vector<std::string>{""});
  EXPECT_EQ(lines_of("a\r\n\nb"), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(lines_of("a\nb\n"), (std::vector<std::string>{"a", "b"}));
  // Only a CR before LF is a line end's.
  EXPECT_EQ(lines_of("a\rb\r\n"), std::vector<std::string>{"a\rb"});
}

}  // namespace
}  // namespace sluice::demo
