#include "base/ownership.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "base/temp_dir_test_util.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

// Not a real account: chown to any id works for root, and no file of the machine is touched.
constexpr uid_t kUid = 64123;
constexpr gid_t kGid = 64124;

struct stat lstat_of(const fs::path& path) {
  struct stat info {};
  EXPECT_EQ(::lstat(path.c_str(), &info), 0) << path;
  return info;
}

void touch(const fs::path& path) { std::ofstream(path) << "x"; }

class GiveTree : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "changing a file's owner needs root";
  }
  test_util::TempDir dir_{"sluice-ownership"};
};

TEST_F(GiveTree, GivesTheDirectoryAndEverythingBelowIt) {
  const fs::path top = dir_.path() / "state";
  fs::create_directories(top / "queue" / "sub");
  touch(top / "queue" / "a");
  touch(top / "queue" / "sub" / "b");
  auto changes = give_tree(top, kUid, kGid);
  ASSERT_TRUE(changes) << changes.error().message;
  EXPECT_EQ(changes->changed, 5u);
  for (const auto& p : {top, top / "queue", top / "queue" / "sub", top / "queue" / "a", top / "queue" / "sub" / "b"}) {
    EXPECT_EQ(lstat_of(p).st_uid, kUid) << p;
    EXPECT_EQ(lstat_of(p).st_gid, kGid) << p;
  }
  auto again = give_tree(top, kUid, kGid);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->changed, 0u);  // already theirs: nothing to do
}

TEST_F(GiveTree, NeverFollowsALinkOutOfTheTree) {
  const fs::path outside = dir_.path() / "outside";
  fs::create_directories(outside);
  touch(outside / "secret");
  const fs::path top = dir_.path() / "state";
  fs::create_directories(top);
  fs::create_directory_symlink(outside, top / "queue");
  fs::create_symlink(outside / "secret", top / "file-link");
  ASSERT_TRUE(give_tree(top, kUid, kGid));
  EXPECT_EQ(lstat_of(outside).st_uid, 0u);
  EXPECT_EQ(lstat_of(outside / "secret").st_uid, 0u);
  EXPECT_EQ(lstat_of(top / "queue").st_uid, kUid);  // the link itself
  // A link given as the top is not followed either.
  ASSERT_TRUE(give_tree(top / "queue", kUid, kGid));
  EXPECT_EQ(lstat_of(outside).st_uid, 0u);
}

TEST_F(GiveTree, SkipsAFileWithAnotherHardLink) {
  const fs::path top = dir_.path() / "state";
  fs::create_directories(top);
  touch(dir_.path() / "elsewhere");
  fs::create_hard_link(dir_.path() / "elsewhere", top / "link");
  auto changes = give_tree(top, kUid, kGid);
  ASSERT_TRUE(changes) << changes.error().message;
  EXPECT_EQ(changes->skipped, 1u);
  EXPECT_EQ(lstat_of(dir_.path() / "elsewhere").st_uid, 0u);
}

TEST_F(GiveTree, AMissingPathChangesNothing) {
  auto changes = give_tree(dir_.path() / "absent", kUid, kGid);
  ASSERT_TRUE(changes);
  EXPECT_EQ(changes->changed, 0u);
}

}  // namespace
}  // namespace sluice
