// The reader goes on past a problem: each section's first problem is listed (`sluice check`
// shows them all), what() stays the first one, and a mistake is not reported again as its
// consequences in the checks across sections.
#include <gtest/gtest.h>

#include "config/config.h"

namespace sluice::config {
namespace {

std::vector<std::string> problems_in(std::string_view text) {
  try {
    parse_config(text, "sluice.toml");
  } catch (const ConfigError& e) {
    EXPECT_EQ(problems_of(e).front(), e.what());
    return problems_of(e);
  }
  ADD_FAILURE() << "no ConfigError for:\n" << text;
  return {};
}

TEST(ConfigProblems, EverySectionsProblemIsListedInFileOrder) {
  const auto problems = problems_in(R"(hostname = "two words"
[limits]
max_recipients = 0
[[receive_connector]]
name = "A"
listen = ["127.0.0.1:2525"]
starttls = "yes"
[[receive_connector]]
name = "B"
listen = ["127.0.0.1:99999"]
[queue]
retry_min = "soon"
)");
  ASSERT_EQ(problems.size(), 5u) << ::testing::PrintToString(problems);
  EXPECT_NE(problems[0].find("hostname"), std::string::npos);
  EXPECT_NE(problems[1].find("limits.max_recipients"), std::string::npos);
  EXPECT_NE(problems[2].find("receive_connector[0].starttls"), std::string::npos);
  EXPECT_NE(problems[3].find("receive_connector[1].listen[0]"), std::string::npos);
  EXPECT_NE(problems[4].find("queue.retry_min"), std::string::npos);
}

TEST(ConfigProblems, OneProblemIsWhatItWasBefore) {
  const auto problems = problems_in("hostname = \"two words\"\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("sluice.toml: line 1: hostname: "), std::string::npos) << problems[0];
}

TEST(ConfigProblems, AMistakeIsNotReportedAgainByTheChecksAcrossSections) {
  // The send connector for corp.test does not read; the check that every internal-relay domain
  // has a send connector of its own would then complain about corp.test too, as a consequence.
  const auto problems = problems_in(R"([[accepted_domain]]
domain = "corp.test"
type = "internal-relay"
[[send_connector]]
name = "To Exchange"
address_spaces = ["corp.test"]
smart_hosts = ["[10.0.0.5]:25"]
tls = "sometimes"
[[send_connector]]
name = "Internet"
)");
  ASSERT_EQ(problems.size(), 1u) << ::testing::PrintToString(problems);
  EXPECT_NE(problems[0].find("send_connector[0].tls"), std::string::npos) << problems[0];
}

}  // namespace
}  // namespace sluice::config
