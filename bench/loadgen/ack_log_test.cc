#include "ack_log.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace sluice::bench {
namespace {

TEST(AckLine, FourTabSeparatedFieldsOnOneLine) {
  EXPECT_EQ(ack_line("<r.1@sluice-loadgen>", 1234.5678, 1, "250 2.6.0 0123456789ABCDEF Queued mail for delivery"),
            "<r.1@sluice-loadgen>\t1234.568\t1\t250 2.6.0 0123456789ABCDEF Queued mail for delivery\n");
  // A reply cannot add a field or a line.
  EXPECT_EQ(ack_line("<x>", 0, 2, "250 a\tb\r\nc"), "<x>\t0.000\t2\t250 a b  c\n");
}

std::filesystem::path temp_path(const char* name) {
  return std::filesystem::temp_directory_path() / (std::string(name) + "." + std::to_string(::getpid()));
}

TEST(AckLog, EveryRecordIsAWholeLineOnDiskAtOnce) {
  auto path = temp_path("sluice-loadgen-acklog");
  {
    AckLog log(path.string());
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&log, t] {
        for (int i = 0; i < 100; ++i)
          log.record("<" + std::to_string(t) + "." + std::to_string(i) + ">", i, 1, "250 ok");
      });
    for (auto& th : threads) th.join();
    // Flushed per record: readable before the log is closed.
    std::ifstream in(path);
    std::string line;
    int lines = 0;
    while (std::getline(in, line)) {
      ++lines;
      EXPECT_EQ(std::count(line.begin(), line.end(), '\t'), 3) << line;
      EXPECT_TRUE(line.ends_with("\t1\t250 ok")) << line;
    }
    EXPECT_EQ(lines, 400);
  }
  std::filesystem::remove(path);
}

TEST(AckLog, AnUnwritablePathIsNamedInTheError) {
  try {
    AckLog log("/nonexistent-dir/acks");
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "--ack-log /nonexistent-dir/acks: No such file or directory");
  }
}

}  // namespace
}  // namespace sluice::bench
