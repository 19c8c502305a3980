#include "inbound/recipients_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/temp_dir_test_util.h"

namespace sluice::inbound {
namespace {

using namespace std::chrono_literals;
using sluice::test_util::TempDir;

class RecipientsFileTest : public ::testing::Test {
 protected:
  void write(const std::string& text) {
    // A new file renamed over the old one, as deployment tools do.
    const auto temp = dir.path() / "recipients.new";
    std::ofstream(temp, std::ios::binary) << text;
    std::filesystem::rename(temp, path);
  }
  std::unique_ptr<RecipientsFile> open() {
    auto file = RecipientsFile::open(path, [this] { return now; });
    EXPECT_TRUE(file) << (file ? "" : file.error().message);
    return file ? std::move(*file) : nullptr;
  }

  TempDir dir{"sluice-recipients"};
  std::filesystem::path path = dir.path() / "recipients";
  std::chrono::steady_clock::time_point now{};
};

TEST_F(RecipientsFileTest, ABadLineIsAStartUpError) {
  write("alice@corp.test\nnot-an-address\n");
  auto file = RecipientsFile::open(path);
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().message.find(path.string() + ": line 2: \"not-an-address\""), std::string::npos)
      << file.error().message;
}

TEST_F(RecipientsFileTest, AMissingFileIsAStartUpError) {
  auto file = RecipientsFile::open(path);
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().message.find(path.string() + ": cannot read"), std::string::npos) << file.error().message;
}

TEST_F(RecipientsFileTest, AChangeIsSeenAtTheNextCheckNotBefore) {
  write("alice@corp.test\n");
  auto file = open();
  ASSERT_TRUE(file);
  EXPECT_TRUE(file->list().contains("alice@corp.test", "corp.test"));
  write("alice@corp.test\nbob@corp.test\n");
  // Within the check interval the file is not looked at (no stat per RCPT).
  now += 500ms;
  EXPECT_FALSE(file->list().contains("bob@corp.test", "corp.test"));
  EXPECT_EQ(file->loads(), 1u);
  now += 500ms;
  EXPECT_TRUE(file->list().contains("bob@corp.test", "corp.test"));
  EXPECT_EQ(file->loads(), 2u);
  // Unchanged: not read again.
  now += 5s;
  file->list();
  EXPECT_EQ(file->loads(), 2u);
}

TEST_F(RecipientsFileTest, ABadReloadKeepsThePreviousList) {
  write("alice@corp.test\n");
  auto file = open();
  ASSERT_TRUE(file);
  write("alice@corp.test\nbroken line here\n");
  now += 2s;
  EXPECT_TRUE(file->list().contains("alice@corp.test", "corp.test"));
  EXPECT_EQ(file->loads(), 1u);
  // Fixed: taken at the next check.
  write("carol@corp.test\n");
  now += 2s;
  EXPECT_TRUE(file->list().contains("carol@corp.test", "corp.test"));
  EXPECT_FALSE(file->list().contains("alice@corp.test", "corp.test"));
  EXPECT_EQ(file->loads(), 2u);
}

TEST_F(RecipientsFileTest, AFileGoneForAWhileKeepsTheListAndIsReadWhenBack) {
  write("alice@corp.test\n");
  auto file = open();
  ASSERT_TRUE(file);
  std::filesystem::remove(path);
  now += 2s;
  EXPECT_TRUE(file->list().contains("alice@corp.test", "corp.test"));
  write("alice@corp.test\n");
  now += 2s;
  file->list();
  EXPECT_EQ(file->loads(), 2u);
}

}  // namespace
}  // namespace sluice::inbound
