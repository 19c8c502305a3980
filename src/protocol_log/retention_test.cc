#include "protocol_log/retention.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <mutex>
#include <thread>

#include "base/temp_dir_test_util.h"
#include "protocol_log/protocol_log.h"

namespace sluice::protocol_log {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono;
using test_util::TempDir;

const system_clock::time_point kNow = sys_days{year{2026} / 12 / 7} + hours{12};

// A file of `bytes` bytes last written at `written`.
void make_file(const fs::path& path, std::size_t bytes, system_clock::time_point written) {
  std::ofstream(path, std::ios::binary) << std::string(bytes, 'x');
  fs::last_write_time(path, file_clock::from_sys(written));
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

const auto kNothingOpen = [] { return fs::path(); };

TEST(LogFileName, OnlyTheLogsOwnNames) {
  EXPECT_TRUE(is_log_file_name("RECV2026120712-1.LOG", "RECV"));
  EXPECT_TRUE(is_log_file_name("RECV2026120712-137.LOG", "RECV"));
  EXPECT_TRUE(is_log_file_name("MSGTRK2026120712-2.LOG", "MSGTRK"));
  for (const char* other :
       {"SEND2026120712-1.LOG", "RECV2026120712-1.LOG.gz", "RECV2026120712-1.log", "RECV202612071-1.LOG",
        "RECV2026120712-.LOG", "RECV2026120712-1a.LOG", "RECV2026120712_1.LOG", "RECVabcdefghij-1.LOG", "notes.txt"})
    EXPECT_FALSE(is_log_file_name(other, "RECV")) << other;
}

TEST(RemoveExpiredFiles, RemovesFilesLastWrittenBeforeMaxAge) {
  TempDir dir("sluice-retention");
  make_file(dir.path() / "RECV2026110100-1.LOG", 10, kNow - days{36});
  make_file(dir.path() / "RECV2026110700-1.LOG", 10, kNow - days{30} - minutes{1});
  make_file(dir.path() / "RECV2026110800-1.LOG", 10, kNow - days{29});
  make_file(dir.path() / "RECV2026120712-1.LOG", 10, kNow);
  make_file(dir.path() / "SEND2026110100-1.LOG", 10, kNow - days{36});  // another log's file
  make_file(dir.path() / "RECV-notes.txt", 10, kNow - days{36});        // not a log file at all

  const RetentionReport report =
      remove_expired_files(dir.path(), "RECV", {.max_age = days{30}, .max_directory_bytes = 0}, kNow, kNothingOpen);

  EXPECT_EQ(report.removed_for_age, 2u);
  EXPECT_EQ(report.removed_for_size, 0u);
  EXPECT_EQ(report.bytes_removed, 20u);
  EXPECT_EQ(report.bytes_kept, 20u);
  EXPECT_TRUE(report.failures.empty());
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"RECV-notes.txt", "RECV2026110800-1.LOG",
                                                            "RECV2026120712-1.LOG", "SEND2026110100-1.LOG"}));
}

TEST(RemoveExpiredFiles, RemovesTheOldestByNameUntilTheDirectoryFits) {
  TempDir dir("sluice-retention");
  // Names order the files (hour, then <n> as a number: 2 before 10); the times say the opposite,
  // as after a copy that touched them, and must not matter.
  make_file(dir.path() / "SEND2026120710-2.LOG", 100, kNow);
  make_file(dir.path() / "SEND2026120710-10.LOG", 100, kNow - hours{1});
  make_file(dir.path() / "SEND2026120711-1.LOG", 100, kNow - hours{2});
  make_file(dir.path() / "SEND2026120712-1.LOG", 100, kNow - hours{3});

  const RetentionReport report =
      remove_expired_files(dir.path(), "SEND", {.max_age = seconds{0}, .max_directory_bytes = 250}, kNow, kNothingOpen);

  EXPECT_EQ(report.removed_for_size, 2u);
  EXPECT_EQ(report.bytes_kept, 200u);
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"SEND2026120711-1.LOG", "SEND2026120712-1.LOG"}));
}

TEST(RemoveExpiredFiles, NeverRemovesTheFileBeingWrittenNorTheNewest) {
  TempDir dir("sluice-retention");
  make_file(dir.path() / "RECV2026120710-1.LOG", 100, kNow - days{60});
  make_file(dir.path() / "RECV2026120710-2.LOG", 100, kNow - days{60});  // the writer's (a clock set back)
  make_file(dir.path() / "RECV2026120710-3.LOG", 100, kNow - days{60});  // the newest
  const fs::path writing = dir.path() / "RECV2026120710-2.LOG";

  const RetentionReport report = remove_expired_files(
      dir.path(), "RECV", {.max_age = days{1}, .max_directory_bytes = 1}, kNow, [&] { return writing; });

  EXPECT_EQ(report.removed(), 1u);
  EXPECT_EQ(report.bytes_kept, 200u);  // over the limit, but nothing else may go
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"RECV2026120710-2.LOG", "RECV2026120710-3.LOG"}));
}

TEST(RemoveExpiredFiles, AMissingDirectoryIsNothingToDo) {
  TempDir dir("sluice-retention");
  const RetentionReport report = remove_expired_files(dir.path() / "absent", "RECV", {}, kNow, kNothingOpen);
  EXPECT_EQ(report.removed(), 0u);
  EXPECT_TRUE(report.failures.empty());
}

TEST(RemoveExpiredFiles, SaysWhichFileCouldNotBeRemoved) {
  TempDir dir("sluice-retention");
  make_file(dir.path() / "RECV2026110100-1.LOG", 10, kNow - days{40});
  make_file(dir.path() / "RECV2026110200-1.LOG", 10, kNow - days{40});
  make_file(dir.path() / "RECV2026120712-1.LOG", 10, kNow);
  const fs::path stuck = dir.path() / "RECV2026110100-1.LOG";
  const auto refuse_one = [&](const char* path) {
    if (path != stuck.string()) return ::unlink(path);
    errno = EACCES;
    return -1;
  };
  // Too old and, with a 15-byte directory, also the first to go for size: one failure, said once.
  const RetentionReport report = remove_expired_files(
      dir.path(), "RECV", {.max_age = days{30}, .max_directory_bytes = 15}, kNow, kNothingOpen, refuse_one);
  EXPECT_EQ(report.removed_for_age, 1u);
  EXPECT_EQ(report.removed_for_size, 0u);
  ASSERT_EQ(report.failures.size(), 1u);
  EXPECT_EQ(report.failures[0], "cannot remove " + stuck.string() + ": Permission denied");
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"RECV2026110100-1.LOG", "RECV2026120712-1.LOG"}));
}

// A writer rolling at a small size, watched by a janitor whose clock the test sets.
struct WatchedWriter {
  TempDir dir{"sluice-retention"};
  Writer writer{dir.path(), Direction::Receive, 400};
  system_clock::time_point now = kNow;
  RetentionJanitor janitor{{.interval = hours{1}, .clock = [this] { return now; }}};

  void write_lines(int count) {
    for (int i = 0; i < count; ++i)
      writer.write({kNow, "Default", "08DC0000000000AA", i, "127.0.0.1:25", "127.0.0.1:40000", Event::Received,
                    "NOOP " + std::string(100, 'a'), ""});
  }
  std::size_t log_files() const { return names_in(dir.path()).size(); }
};

TEST(RetentionJanitor, APassKeepsTheDirectoryWithinItsSize) {
  WatchedWriter w;
  w.janitor.watch(w.writer, {.max_age = days{30}, .max_directory_bytes = 1000});
  w.write_lines(40);  // about 20 files of 400 bytes
  ASSERT_GT(w.log_files(), 10u);

  w.janitor.run_once();

  EXPECT_LE(w.log_files(), 3u);
  EXPECT_GE(w.log_files(), 2u);
  EXPECT_TRUE(fs::exists(w.writer.current_file()));
  EXPECT_EQ(w.janitor.passes(), 1u);
  EXPECT_GT(w.janitor.files_removed(), 10u);
}

TEST(RetentionJanitor, TheInjectedClockAgesTheFiles) {
  WatchedWriter w;
  w.janitor.watch(w.writer, {.max_age = days{30}, .max_directory_bytes = 0});
  w.write_lines(10);
  const std::size_t written = w.log_files();
  ASSERT_GT(written, 2u);

  w.now = system_clock::now() + days{29};
  w.janitor.run_once();
  EXPECT_EQ(w.log_files(), written);

  w.now = system_clock::now() + days{31};
  w.janitor.run_once();
  EXPECT_EQ(w.log_files(), 1u);
  EXPECT_EQ(names_in(w.dir.path()).front(), w.writer.current_file().filename().string());
}

TEST(RetentionJanitor, ANewFileStartsAPassOnTheJanitorsThread) {
  WatchedWriter w;
  w.janitor.watch(w.writer, {.max_age = days{30}, .max_directory_bytes = 1000});
  w.janitor.start();
  const auto deadline = steady_clock::now() + seconds{10};
  while (w.janitor.passes() == 0 && steady_clock::now() < deadline) std::this_thread::sleep_for(milliseconds{2});
  ASSERT_EQ(w.janitor.passes(), 1u);  // the pass at start; the next can only come from a roll
  w.write_lines(40);
  // The writer only asked; the pass runs on the janitor's thread (bounded wait).
  while (w.log_files() > 3 && steady_clock::now() < deadline) std::this_thread::sleep_for(milliseconds{2});
  EXPECT_LE(w.log_files(), 3u);
  EXPECT_GE(w.janitor.passes(), 2u);
}

TEST(RetentionJanitor, ThePeriodicPassNeedsNoRoll) {
  TempDir dir("sluice-retention");
  Writer writer(dir.path(), Direction::Send, 1 << 20);
  make_file(dir.path() / "SEND2026010100-1.LOG", 10, kNow - days{60});
  make_file(dir.path() / "SEND2026010100-2.LOG", 10, kNow - days{60});
  system_clock::time_point now = kNow - days{60};  // nothing is old yet at the first pass
  std::mutex now_mutex;
  RetentionJanitor janitor({.interval = milliseconds{20}, .clock = [&] {
                              std::lock_guard lock(now_mutex);
                              return now;
                            }});
  janitor.watch(writer, {.max_age = days{30}, .max_directory_bytes = 0});
  janitor.start();
  const auto deadline = steady_clock::now() + seconds{10};
  while (janitor.passes() == 0 && steady_clock::now() < deadline) std::this_thread::sleep_for(milliseconds{2});
  EXPECT_EQ(names_in(dir.path()).size(), 2u);
  {
    std::lock_guard lock(now_mutex);
    now = kNow;
  }
  while (names_in(dir.path()).size() > 1 && steady_clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds{2});
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"SEND2026010100-2.LOG"});  // the newest stays
}

TEST(RetentionJanitor, AWriterWithoutLimitsIsNotWatched) {
  WatchedWriter w;
  w.janitor.watch(w.writer, {.max_age = seconds{0}, .max_directory_bytes = 0});
  w.write_lines(20);
  const std::size_t written = w.log_files();
  w.janitor.run_once();
  EXPECT_EQ(w.log_files(), written);
  EXPECT_EQ(w.janitor.files_removed(), 0u);
}

}  // namespace
}  // namespace sluice::protocol_log
