#include "demo/files.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace sluice::demo {

std::vector<fs::path> maildir_new(const fs::path& maildir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(maildir / "new", ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec)) out.push_back(it->path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace sluice::demo
