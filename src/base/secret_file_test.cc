#include "base/secret_file.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "base/temp_dir_test_util.h"

namespace sluice {
namespace {

class SecretFileTest : public ::testing::Test {
 protected:
  std::filesystem::path file(const std::string& name, const std::string& text, mode_t mode) {
    const auto path = dir_.path() / name;
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }
  test_util::TempDir dir_{"sluice-secret"};
};

TEST_F(SecretFileTest, AnyAccessForGroupOrOthersIsRefused) {
  EXPECT_TRUE(check_private_file(file("owner", "s\n", 0600)).ok());
  EXPECT_TRUE(check_private_file(file("read-only", "s\n", 0400)).ok());
  for (const mode_t mode : {0640, 0604, 0644, 0610, 0602}) {
    auto checked = check_private_file(file("open", "s\n", mode));
    ASSERT_FALSE(checked.ok()) << std::oct << mode;
    EXPECT_EQ(checked.error().message.substr(0, 14), fmt::format("has mode {:04o}:", mode));
    EXPECT_NE(checked.error().message.find("must not be open to group or others; chmod 600 it"), std::string::npos);
  }
  auto missing = check_private_file(dir_.path() / "missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "cannot be examined: No such file or directory");
}

TEST_F(SecretFileTest, ReadsTheFirstLineAndNamesTheSettingNotTheSecret) {
  EXPECT_EQ(read_secret_file(file("crlf", "p4ss\r\nsecond\n", 0600), "password_file").value(), "p4ss");
  EXPECT_EQ(read_secret_file(file("bare", "p4ss", 0600), "password_file").value(), "p4ss");
  const auto open = file("open", "p4ss\n", 0640);
  auto refused = read_secret_file(open, "password_file");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "password_file " + open.string() +
                                         " has mode 0640: a file holding a secret must not be open to group or "
                                         "others; chmod 600 it");
  const auto empty = file("empty", "\np4ss\n", 0600);
  auto blank = read_secret_file(empty, "client_secret_file");
  ASSERT_FALSE(blank.ok());
  EXPECT_EQ(blank.error().message,
            "client_secret_file " + empty.string() + " has an empty first line (it must hold the secret)");
  EXPECT_EQ(blank.error().message.find("p4ss"), std::string::npos);
}

}  // namespace
}  // namespace sluice
