// A main() for the fuzz targets without libFuzzer: runs every file of the given directories (or
// the given files) through LLVMFuzzerTestOneInput once. CMake builds each target with it, so a
// change that breaks a harness fails the ordinary build, and ctest runs the seed corpora as
// regression tests (fuzz.<target>.seeds) in the release and the ASan+UBSan suites. Finding new
// inputs is fuzz/run.sh's job, with clang and libFuzzer.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

int run_one(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
    return 1;
  }
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // An invariant that fails aborts here with the harness's message; name the input first.
  std::fprintf(stderr, "replay: %s\n", file.c_str());
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
    return 2;
  }
  int failures = 0;
  std::size_t inputs = 0;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path arg(argv[i]);
    std::error_code ec;
    if (!std::filesystem::is_directory(arg, ec)) {
      failures += run_one(arg);
      ++inputs;
      continue;
    }
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(arg)) files.push_back(entry.path());
    if (files.empty()) {
      std::fprintf(stderr, "replay: %s holds no inputs\n", arg.c_str());
      ++failures;
    }
    for (const auto& file : files) {
      failures += run_one(file);
      ++inputs;
    }
  }
  std::printf("replay: %zu inputs, %d unreadable\n", inputs, failures);
  return failures == 0 ? 0 : 1;
}
