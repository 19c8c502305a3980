#include "demo/protocol_log_reader.h"

#include <gtest/gtest.h>

#include <chrono>

#include "demo/demo_test_util.h"
#include "protocol_log/protocol_log.h"

namespace sluice::demo {
namespace {

using sluice::test_util::TempDir;
using test_util::write;

std::string log_line(const std::string& session, const std::string& data) {
  protocol_log::Line line;
  line.time = std::chrono::system_clock::now();
  line.connector = "Outbound, with a comma";
  line.session_id = session;
  line.sequence = 1;
  line.local_endpoint = "127.0.0.1:1000";
  line.remote_endpoint = "127.0.0.1:25";
  line.event = protocol_log::Event::Info;
  line.data = data;
  std::string text = protocol_log::format_line(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

TEST(DemoProtocolLog, FilesInWritingOrderWithNumericIndexes) {
  TempDir dir{"sluice-demo-test"};
  write(dir.path() / "SEND2024050112-10.LOG", "");
  write(dir.path() / "SEND2024050112-9.LOG", "");
  write(dir.path() / "SEND2024050111-3.LOG", "");
  write(dir.path() / "RECV2024050111-1.LOG", "");
  write(dir.path() / "SEND-notes.txt", "");
  auto files = protocol_log_files(dir.path(), "SEND");
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].filename(), "SEND2024050111-3.LOG");
  EXPECT_EQ(files[1].filename(), "SEND2024050112-9.LOG");
  EXPECT_EQ(files[2].filename(), "SEND2024050112-10.LOG");
}

TEST(DemoProtocolLog, MissingDirectoryIsNoFiles) {
  EXPECT_TRUE(protocol_log_files("/nonexistent/sluice-demo", "SEND").empty());
  EXPECT_TRUE(protocol_log_lines("/nonexistent/sluice-demo", "SEND").empty());
}

TEST(DemoProtocolLog, LinesSkipHeadersAndLineEnds) {
  TempDir dir{"sluice-demo-test"};
  write(dir.path() / "SEND2024050111-1.LOG", "#Software: sluice\r\n#Fields: a,b\r\nfirst\r\nsecond\r\n");
  write(dir.path() / "SEND2024050111-2.LOG", "#Software: sluice\r\nthird\n");
  EXPECT_EQ(protocol_log_lines(dir.path(), "SEND"), (std::vector<std::string>{"first", "second", "third"}));
}

TEST(DemoProtocolLog, CursorReturnsOnlyLinesAfterTheMark) {
  TempDir dir{"sluice-demo-test"};
  write(dir.path() / "SEND2024050111-1.LOG", "one\r\ntwo\r\n");
  LogCursor cursor(dir.path(), "SEND");
  EXPECT_EQ(cursor.new_lines().size(), 2u);
  cursor.mark();
  EXPECT_TRUE(cursor.new_lines().empty());
  write(dir.path() / "SEND2024050111-2.LOG", "three\r\n");
  EXPECT_EQ(cursor.new_lines(), std::vector<std::string>{"three"});
  EXPECT_EQ(cursor.all().size(), 3u);
}

TEST(DemoProtocolLog, GrepIsCaseSensitiveUnlessAsked) {
  std::vector<std::string> lines{"Falling back to PLAINTEXT", "nothing here"};
  EXPECT_TRUE(grep(lines, "plaintext").empty());
  EXPECT_EQ(grep(lines, "plaintext", true), std::vector<std::string>{"Falling back to PLAINTEXT"});
}

TEST(DemoProtocolLog, SessionsAreTheThirdField) {
  std::string a1 = log_line("08DB000000000001", "TLS negotiation failed with error SocketError");
  std::string b1 = log_line("08DB000000000002", "other session");
  std::string a2 = log_line("08DB000000000001", "more, with a comma");
  EXPECT_EQ(session_of(a1), "08DB000000000001");
  EXPECT_EQ(session_of("not a protocol log line"), "");
  EXPECT_EQ(session_lines({a1, b1, a2, "garbage"}, "08DB000000000001"), (std::vector<std::string>{a1, a2}));
  EXPECT_TRUE(session_lines({a1, "garbage"}, "").empty());
}

}  // namespace
}  // namespace sluice::demo
