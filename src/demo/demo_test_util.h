// Test-only helpers of the demo's unit tests: a temporary directory and files written into it.
#pragma once
#include <filesystem>
#include <fstream>
#include <string>

#include "base/temp_dir_test_util.h"

namespace sluice::demo::test_util {

namespace fs = std::filesystem;

using sluice::test_util::TempDir;

inline void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace sluice::demo::test_util
