#include "base/atomic_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace sluice {
namespace {

namespace fs = std::filesystem;

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "sluice-atomic-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) names.push_back(entry.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }
  std::string read(const std::string& name) const {
    std::ifstream in(dir_ / name, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

  fs::path dir_;
};

// Creates the temporary file as the real opener would (so a leftover would be visible) but
// hands back /dev/full, where every write fails with ENOSPC: a full disk, even for root.
int open_full_disk(const fs::path& path) {
  int created = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (created < 0) return -1;
  ::close(created);
  return ::open("/dev/full", O_WRONLY | O_CLOEXEC);
}

TEST_F(AtomicFileTest, WritesExactContentAndLeavesNoTemporaryFile) {
  const std::string data = std::string("line one\r\n\0binary\xff", 18) + std::string(200000, 'x');
  ASSERT_FALSE(write_file_durably(dir_, "msg.eml", data));
  EXPECT_EQ(read("msg.eml"), data);
  EXPECT_EQ(entries(), std::vector<std::string>{"msg.eml"});
}

TEST_F(AtomicFileTest, WritesEmptyFile) {
  ASSERT_FALSE(write_file_durably(dir_, "empty", ""));
  EXPECT_EQ(fs::file_size(dir_ / "empty"), 0u);
}

TEST_F(AtomicFileTest, ReplacesExistingFile) {
  ASSERT_FALSE(write_file_durably(dir_, "f", "old content that is longer"));
  ASSERT_FALSE(write_file_durably(dir_, "f", "new"));
  EXPECT_EQ(read("f"), "new");
  EXPECT_EQ(entries(), std::vector<std::string>{"f"});
}

TEST_F(AtomicFileTest, OverwriteKeepsTheInodeAndExactlyTheNewBytes) {
  ASSERT_FALSE(write_file_durably(dir_, "f", "0123456789"));
  struct stat before {};
  ASSERT_EQ(::stat((dir_ / "f").c_str(), &before), 0);
  ASSERT_FALSE(overwrite_file_synced(dir_ / "f", "abc"));  // shorter: the old tail is cut off
  EXPECT_EQ(read("f"), "abc");
  ASSERT_FALSE(overwrite_file_synced(dir_ / "f", std::string(9000, 'z')));  // longer: grows
  EXPECT_EQ(read("f"), std::string(9000, 'z'));
  ASSERT_FALSE(overwrite_file_synced(dir_ / "f", ""));
  EXPECT_EQ(read("f"), "");
  struct stat after {};
  ASSERT_EQ(::stat((dir_ / "f").c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(overwrite_file_synced(dir_ / "missing", "x"), std::errc::no_such_file_or_directory);
  EXPECT_FALSE(fs::exists(dir_ / "missing"));
}

TEST_F(AtomicFileTest, CreatesFileWithMode0640) {
  mode_t old_mask = ::umask(022);
  std::error_code ec = write_file_durably(dir_, "f", "x");
  ::umask(old_mask);
  ASSERT_FALSE(ec);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST_F(AtomicFileTest, RejectsNamesThatLeaveTheDirectory) {
  for (std::string_view name : {"", ".", "..", "a/b", "../escape", "/abs"}) {
    EXPECT_EQ(write_file_durably(dir_, name, "x"), std::errc::invalid_argument) << name;
  }
  EXPECT_EQ(write_file_durably(dir_, std::string_view("a\0b", 3), "x"), std::errc::invalid_argument);
  EXPECT_EQ(write_file_durably("", "f", "x"), std::errc::invalid_argument);
  EXPECT_TRUE(entries().empty());
  EXPECT_FALSE(fs::exists(dir_.parent_path() / "escape"));
}

TEST_F(AtomicFileTest, DirectoryThatIsARegularFileFailsWithEnotdir) {
  ASSERT_FALSE(write_file_durably(dir_, "plain", "i am a file"));
  std::error_code ec = write_file_durably(dir_ / "plain", "f", "x");
  EXPECT_EQ(ec, std::errc::not_a_directory);
  EXPECT_EQ(ec.category(), std::system_category());
  EXPECT_EQ(entries(), std::vector<std::string>{"plain"});
}

TEST_F(AtomicFileTest, MissingDirectoryFailsWithEnoent) {
  EXPECT_EQ(write_file_durably(dir_ / "absent", "f", "x"), std::errc::no_such_file_or_directory);
  EXPECT_TRUE(entries().empty());
}

TEST_F(AtomicFileTest, NameTooLongFailsAndLeavesNothing) {
  std::error_code ec = write_file_durably(dir_, std::string(300, 'n'), "x");
  EXPECT_EQ(ec, std::errc::filename_too_long);
  EXPECT_TRUE(entries().empty());
}

TEST_F(AtomicFileTest, FullDiskFailsWithEnospcAndRemovesTemporaryFile) {
  std::error_code ec = write_file_durably(dir_, "f", "some data", open_full_disk);
  EXPECT_EQ(ec, std::errc::no_space_on_device);
  EXPECT_EQ(ec.value(), ENOSPC);
  EXPECT_TRUE(entries().empty());
}

TEST_F(AtomicFileTest, FullDiskKeepsThePreviousVersion) {
  ASSERT_FALSE(write_file_durably(dir_, "f", "previous"));
  EXPECT_EQ(write_file_durably(dir_, "f", "replacement", open_full_disk), std::errc::no_space_on_device);
  EXPECT_EQ(read("f"), "previous");
  EXPECT_EQ(entries(), std::vector<std::string>{"f"});
}

TEST_F(AtomicFileTest, OpenerErrorIsReturnedAsErrno) {
  auto denied = [](const fs::path&) {
    errno = EACCES;
    return -1;
  };
  std::error_code ec = write_file_durably(dir_, "f", "x", denied);
  EXPECT_EQ(ec, std::errc::permission_denied);
  EXPECT_TRUE(entries().empty());
}

TEST_F(AtomicFileTest, TemporaryFileIsInTheTargetDirectoryWithTmpPrefix) {
  fs::path seen;
  auto spy = [&seen](const fs::path& path) {
    seen = path;
    return ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  };
  ASSERT_FALSE(write_file_durably(dir_, "name.json", "x", spy));
  EXPECT_EQ(seen.parent_path(), dir_);
  const std::string temp = seen.filename();
  EXPECT_EQ(temp.rfind(".tmp.name.json.", 0), 0u) << temp;
  EXPECT_EQ(temp.size(), std::string(".tmp.name.json.").size() + 16);
  EXPECT_EQ(entries(), std::vector<std::string>{"name.json"});
}

TEST_F(AtomicFileTest, RenameOntoADirectoryFailsAndRemovesTemporaryFile) {
  fs::create_directory(dir_ / "taken");
  EXPECT_EQ(write_file_durably(dir_, "taken", "x"), std::errc::is_a_directory);
  EXPECT_EQ(entries(), std::vector<std::string>{"taken"});
}

TEST_F(AtomicFileTest, WriteNewFileSyncedRefusesToOverwrite) {
  ASSERT_FALSE(write_new_file_synced(dir_ / "f", "first"));
  EXPECT_EQ(write_new_file_synced(dir_ / "f", "second"), std::errc::file_exists);
  EXPECT_EQ(read("f"), "first");
}

TEST_F(AtomicFileTest, WriteNewFileSyncedRemovesFileOnFullDisk) {
  EXPECT_EQ(write_new_file_synced(dir_ / "f", "data", open_full_disk), std::errc::no_space_on_device);
  EXPECT_TRUE(entries().empty());
}

TEST_F(AtomicFileTest, FsyncDirectoryReportsErrors) {
  EXPECT_FALSE(fsync_directory(dir_));
  EXPECT_EQ(fsync_directory(dir_ / "absent"), std::errc::no_such_file_or_directory);
  ASSERT_FALSE(write_file_durably(dir_, "plain", "x"));
  EXPECT_EQ(fsync_directory(dir_ / "plain"), std::errc::not_a_directory);
}

TEST_F(AtomicFileTest, FsyncParentDirectoryFindsTheParent) {
  fs::create_directory(dir_ / "child");
  EXPECT_FALSE(fsync_parent_directory(dir_ / "child"));
  EXPECT_FALSE(fsync_parent_directory(dir_ / "child/"));
  EXPECT_FALSE(fsync_parent_directory(dir_ / "not-yet-created"));
  EXPECT_EQ(fsync_parent_directory(dir_ / "absent" / "child"), std::errc::no_such_file_or_directory);
  EXPECT_EQ(fsync_parent_directory(dir_ / "absent" / "child/"), std::errc::no_such_file_or_directory);
}

TEST_F(AtomicFileTest, WriteTempFileSyncedLeavesTheRenameToTheCaller) {
  fs::path temp;
  ASSERT_FALSE(write_temp_file_synced(dir_, "msg.json", "{}", {}, &temp));
  EXPECT_EQ(temp.parent_path(), dir_);
  EXPECT_EQ(temp.filename().string().rfind(".tmp.msg.json.", 0), 0u) << temp;
  EXPECT_EQ(entries(), std::vector<std::string>{temp.filename().string()});
  EXPECT_EQ(read(temp.filename()), "{}");
  EXPECT_EQ(write_temp_file_synced(dir_, "a/b", "x", {}, &temp), std::errc::invalid_argument);
  EXPECT_EQ(write_temp_file_synced("", "a", "x", {}, &temp), std::errc::invalid_argument);
  fs::remove_all(dir_);
  fs::create_directory(dir_);
  EXPECT_EQ(write_temp_file_synced(dir_, "f", "data", open_full_disk, &temp), std::errc::no_space_on_device);
  EXPECT_TRUE(entries().empty());
}

// A directory "fsync" that counts its calls and, while `hold_until_waiting` is non-zero, does
// not finish until that many callers wait behind it: callers arriving during an fsync, made
// deterministic.
struct SlowSync {
  std::atomic<int> calls{0};
  std::atomic<bool> fail{false};
  std::atomic<std::size_t> hold_until_waiting{0};
  const DirectorySync* sync = nullptr;
  std::error_code operator()(const fs::path&) {
    ++calls;
    const bool failing = fail;  // as the call starts: a later change is for the next round
    if (std::size_t n = hold_until_waiting.exchange(0)) {
      auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (sync->waiting() < n && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
    }
    return failing ? std::make_error_code(std::errc::io_error) : std::error_code{};
  }
};

TEST_F(AtomicFileTest, DirectorySyncAloneRunsOneFsyncPerCall) {
  SlowSync slow;
  DirectorySync sync(dir_, [&slow](const fs::path& d) { return slow(d); });
  EXPECT_FALSE(sync.sync());
  EXPECT_FALSE(sync.sync());
  EXPECT_EQ(slow.calls, 2);
  EXPECT_EQ(sync.rounds(), 2u);
  DirectorySync real(dir_);
  EXPECT_FALSE(real.sync());
  DirectorySync absent(dir_ / "absent");
  EXPECT_EQ(absent.sync(), std::errc::no_such_file_or_directory);
}

TEST_F(AtomicFileTest, DirectorySyncSharesOneFsyncAmongConcurrentCallers) {
  SlowSync slow;
  DirectorySync sync(dir_, [&slow](const fs::path& d) { return slow(d); });
  slow.sync = &sync;
  slow.hold_until_waiting = 16;
  // While the first caller's fsync runs, 16 more arrive: they all wait for one more.
  std::thread first([&] { EXPECT_FALSE(sync.sync()); });
  while (slow.calls == 0) std::this_thread::yield();
  std::vector<std::thread> others;
  for (int i = 0; i < 16; ++i) others.emplace_back([&] { EXPECT_FALSE(sync.sync()); });
  first.join();
  for (auto& t : others) t.join();
  EXPECT_EQ(slow.calls, 2);
}

TEST_F(AtomicFileTest, DirectorySyncReportsAFailedFsyncToEveryCallerItCovered) {
  SlowSync slow;
  DirectorySync sync(dir_, [&slow](const fs::path& d) { return slow(d); });
  slow.sync = &sync;
  std::atomic<int> failed{0};
  slow.hold_until_waiting = 8;
  std::thread first([&] { EXPECT_FALSE(sync.sync()); });
  while (slow.calls == 0) std::this_thread::yield();
  slow.fail = true;  // the round the next callers share fails
  std::vector<std::thread> others;
  for (int i = 0; i < 8; ++i)
    others.emplace_back([&] {
      if (sync.sync() == std::errc::io_error) ++failed;
    });
  first.join();
  for (auto& t : others) t.join();
  EXPECT_EQ(failed, 8);
  EXPECT_EQ(slow.calls, 2);
  slow.fail = false;
  EXPECT_FALSE(sync.sync());  // a later round is independent of the failed one
}

}  // namespace
}  // namespace sluice
