#include "logscan/input_file.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

namespace sluice::logscan {
namespace {

namespace fs = std::filesystem;

std::string read_all(ByteSource& s) {
  std::string out;
  char buf[7];
  long n;
  while ((n = s.read(buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  return out;
}

TEST(InputFile, PlainRangeAndGzipByContent) {
  fs::path dir = fs::temp_directory_path() / ("logscan-input-" + std::to_string(::getpid()));
  fs::create_directories(dir / "sub");
  std::ofstream(dir / "plain.log") << "0123456789";
  gzFile gz = gzopen((dir / "sub" / "rotated.1").c_str(), "wb");  // no .gz suffix: content decides
  gzwrite(gz, "hello gzip", 10);
  gzclose(gz);

  std::string why;
  auto plain = open_source((dir / "plain.log").string(), why, 2, 6);
  ASSERT_TRUE(plain);
  EXPECT_EQ(read_all(*plain), "2345");
  auto zipped = open_source((dir / "sub" / "rotated.1").string(), why);
  ASSERT_TRUE(zipped);
  EXPECT_EQ(read_all(*zipped), "hello gzip");
  EXPECT_TRUE(is_gzip_file((dir / "sub" / "rotated.1").string()));
  EXPECT_FALSE(open_source((dir / "nope").string(), why));
  EXPECT_FALSE(why.empty());

  std::vector<std::string> errors;
  auto inputs = expand_paths({dir.string(), (dir / "nope").string(), "-"}, errors);
  ASSERT_EQ(inputs.size(), 3u);
  EXPECT_EQ(fs::path(inputs[0].path).filename(), "plain.log");
  EXPECT_EQ(inputs[0].size, 10u);
  EXPECT_TRUE(inputs[1].gzip);
  EXPECT_EQ(inputs[2].path, "-");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("nope"), std::string::npos);
  fs::remove_all(dir);
}

TEST(InputFile, TruncatedGzipReadsAsFarAsItGoes) {
  fs::path p = fs::temp_directory_path() / ("logscan-cut-" + std::to_string(::getpid()) + ".gz");
  std::string text(100000, 'a');
  for (std::size_t i = 0; i < text.size(); i += 61) text[i] = '\n';
  gzFile gz = gzopen(p.c_str(), "wb");
  gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
  gzclose(gz);
  fs::resize_file(p, fs::file_size(p) / 2);
  std::string why;
  auto s = open_source(p.string(), why);
  ASSERT_TRUE(s);
  std::string got;
  char buf[4096];
  long n;
  while ((n = s->read(buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
  EXPECT_GT(got.size(), 0u);
  EXPECT_LT(got.size(), text.size());
  EXPECT_EQ(got, text.substr(0, got.size()));
  fs::remove(p);
}

}  // namespace
}  // namespace sluice::logscan
