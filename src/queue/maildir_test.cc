#include "queue/maildir.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include "base/temp_dir_test_util.h"

namespace sluice::queue {
namespace {

namespace fs = std::filesystem;

TEST(MailboxFolder, LowerCasesAndKeepsSafeCharacters) {
  EXPECT_EQ(MaildirStore::mailbox_folder("Bob"), "bob");
  EXPECT_EQ(MaildirStore::mailbox_folder("John.Doe+tag_x-Y9"), "john.doe+tag_x-y9");
  EXPECT_EQ(MaildirStore::mailbox_folder("bob."), "bob.");
}

TEST(MailboxFolder, EncodesEverythingThatCouldLeaveTheRoot) {
  EXPECT_EQ(MaildirStore::mailbox_folder("../etc"), "%2E.%2Fetc");
  EXPECT_EQ(MaildirStore::mailbox_folder(".hidden"), "%2Ehidden");
  EXPECT_EQ(MaildirStore::mailbox_folder("a/b"), "a%2Fb");
  EXPECT_EQ(MaildirStore::mailbox_folder("."), "%2E");
  EXPECT_EQ(MaildirStore::mailbox_folder(".."), "%2E.");
  EXPECT_EQ(MaildirStore::mailbox_folder("/"), "%2F");
  EXPECT_EQ(MaildirStore::mailbox_folder("a\\b"), "a%5Cb");
}

TEST(MailboxFolder, EncodesOtherBytesAsUpperCaseHex) {
  EXPECT_EQ(MaildirStore::mailbox_folder("\xc3\xbc"
                                         "n\xc3\xaf"),
            "%C3%BCn%C3%AF");  // "ünï"
  EXPECT_EQ(MaildirStore::mailbox_folder("\"Quoted Name\""), "%22quoted%20name%22");
  EXPECT_EQ(MaildirStore::mailbox_folder("100%"), "100%25");
  EXPECT_EQ(MaildirStore::mailbox_folder(std::string_view("a\0b", 3)), "a%00b");
  EXPECT_EQ(MaildirStore::mailbox_folder("tab\there"), "tab%09here");
}

TEST(MailboxFolder, EmptyLocalPartHasItsOwnName) {
  EXPECT_EQ(MaildirStore::mailbox_folder(""), "%empty");
  EXPECT_NE(MaildirStore::mailbox_folder("%empty"), "%empty");  // "%25empty"
}

class MaildirTest : public ::testing::Test {
 protected:
  static std::vector<fs::path> files_in(const fs::path& dir) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path());
    return files;
  }
  static std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

  sluice::test_util::TempDir temp_{"sluice-maildir"};
  fs::path base_ = temp_.path();
  fs::path root_ = base_ / "maildir";
};

TEST_F(MaildirTest, ConcurrentDeliveriesToOneMailboxAllArrive) {
  // They share fsyncs of new/ (DirectorySync); each still lands complete under its own name.
  MaildirStore store(root_);
  std::vector<std::thread> threads;
  std::vector<std::error_code> results(12);
  for (std::size_t i = 0; i < results.size(); ++i)
    threads.emplace_back([&, i] {
      auto delivered = store.deliver(i % 2 ? "bob" : "carol", "x@localhost", "message " + std::to_string(i) + "\r\n");
      if (!delivered) results[i] = delivered.error();
    });
  for (auto& t : threads) t.join();
  for (const auto& ec : results) EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(files_in(root_ / "bob" / "new").size(), 6u);
  EXPECT_EQ(files_in(root_ / "carol" / "new").size(), 6u);
  EXPECT_TRUE(files_in(root_ / "bob" / "tmp").empty());
}

TEST_F(MaildirTest, DeliverWritesDeliveredToThenTheExactMessageIntoNew) {
  MaildirStore store(root_);
  const std::string message = "Received: from mx\r\nSubject: hi\r\n\r\nbody\r\n";
  fs::path file = store.deliver("Bob", "Bob@localhost", message).value();
  EXPECT_EQ(read(file), "Delivered-To: Bob@localhost\r\n" + message);
  EXPECT_EQ(file.parent_path(), root_ / "bob" / "new");
  EXPECT_TRUE(fs::is_directory(root_ / "bob" / "tmp"));
  EXPECT_TRUE(fs::is_directory(root_ / "bob" / "cur"));
  EXPECT_TRUE(files_in(root_ / "bob" / "tmp").empty());
  EXPECT_EQ(files_in(root_ / "bob" / "new"), std::vector<fs::path>{file});
}

TEST_F(MaildirTest, FileNameFollowsTheMaildirConvention) {
  MaildirStore store(root_);
  fs::path file = store.deliver("bob", "bob@localhost", "m").value();
  const std::string name = file.filename();
  std::smatch match;
  ASSERT_TRUE(std::regex_match(name, match, std::regex(R"((\d+)\.M(\d{1,6})P(\d+)Q(\d+)\.(.+))"))) << name;
  EXPECT_EQ(match[3].str(), std::to_string(::getpid()));
  EXPECT_EQ(match[5].str().find_first_of("/:"), std::string::npos);
  const long long seconds = std::stoll(match[1].str());
  const long long now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(now - seconds, 5);
  EXPECT_GE(now - seconds, 0);
}

TEST_F(MaildirTest, DeliveriesGetDistinctNames) {
  MaildirStore store(root_);
  fs::path first = store.deliver("bob", "bob@localhost", "one").value();
  fs::path second = store.deliver("bob", "bob@localhost", "two").value();
  EXPECT_NE(first, second);
  EXPECT_EQ(read(first), "Delivered-To: bob@localhost\r\none");
  EXPECT_EQ(read(second), "Delivered-To: bob@localhost\r\ntwo");
  EXPECT_EQ(files_in(root_ / "bob" / "new").size(), 2u);
}

TEST_F(MaildirTest, HostileLocalPartStaysInsideTheRoot) {
  MaildirStore store(root_);
  fs::path file = store.deliver("../etc", "../etc@localhost", "m").value();
  EXPECT_EQ(file.parent_path(), root_ / "%2E.%2Fetc" / "new");
  EXPECT_FALSE(fs::exists(base_ / "etc"));
  std::vector<fs::path> in_root = files_in(root_);
  EXPECT_EQ(in_root, std::vector<fs::path>{root_ / "%2E.%2Fetc"});
}

TEST_F(MaildirTest, DirectoriesAreCreatedWithMode0750) {
  mode_t old_mask = ::umask(022);
  MaildirStore store(root_);
  auto delivered = store.deliver("bob", "bob@localhost", "m");
  ::umask(old_mask);
  ASSERT_TRUE(delivered) << delivered.error().message();
  for (const fs::path& dir : {root_ / "bob", root_ / "bob" / "new", root_ / "bob" / "tmp"}) {
    struct stat st {};
    ASSERT_EQ(::stat(dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0750u) << dir;
  }
}

TEST_F(MaildirTest, RecipientWithLineBreakIsRefusedBeforeAnythingIsCreated) {
  MaildirStore store(root_);
  EXPECT_EQ(store.deliver("bob", "bob@localhost\r\nX-Injected: 1", "m").error(), std::errc::invalid_argument);
  EXPECT_EQ(store.deliver("bob", "bob@localhost\n", "m").error(), std::errc::invalid_argument);
  EXPECT_FALSE(fs::exists(root_));
}

TEST_F(MaildirTest, RootThatIsAFileFails) {
  std::ofstream(root_) << "not a directory";
  MaildirStore store(root_);
  EXPECT_EQ(store.deliver("bob", "bob@localhost", "m").error(), std::errc::not_a_directory);
}

TEST_F(MaildirTest, SubdirectoryThatIsAFileFailsAndLeavesNothing) {
  fs::create_directories(root_ / "bob" / "tmp");
  std::ofstream(root_ / "bob" / "new") << "not a directory";
  MaildirStore store(root_);
  EXPECT_EQ(store.deliver("bob", "bob@localhost", "m").error(), std::errc::not_a_directory);
  EXPECT_TRUE(files_in(root_ / "bob" / "tmp").empty());
}

TEST_F(MaildirTest, FullDiskLeavesNothingInTmpOrNew) {
  auto full_disk = [](const fs::path& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) return -1;
    ::close(fd);
    return ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  };
  MaildirStore store(root_, full_disk);
  EXPECT_EQ(store.deliver("bob", "bob@localhost", "message").error(), std::errc::no_space_on_device);
  EXPECT_TRUE(files_in(root_ / "bob" / "tmp").empty());
  EXPECT_TRUE(files_in(root_ / "bob" / "new").empty());
}

TEST_F(MaildirTest, TooLongLocalPartFailsCleanly) {
  MaildirStore store(root_);
  // 100 bytes outside the safe set become 300 characters, more than a file name may have.
  EXPECT_EQ(store.deliver(std::string(100, '!'), "x@localhost", "m").error(), std::errc::filename_too_long);
  EXPECT_TRUE(files_in(root_).empty());
}

}  // namespace
}  // namespace sluice::queue
