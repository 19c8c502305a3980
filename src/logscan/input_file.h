// Where logscan's bytes come from: plain files (or a byte range of one), gzip files, stdin, and
// the expansion of command-line paths (directories are searched recursively).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sluice::logscan {

/// A stream of bytes read in large blocks.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  /// Up to `size` bytes into `buffer`; 0 at the end; -1 on an error (then error() says why).
  virtual long read(char* buffer, std::size_t size) = 0;
  virtual const std::string& error() const { return error_; }

 protected:
  std::string error_;
};

/// Opens `path` ("-" is stdin). gzip is recognised by its magic bytes, not by the name, and read
/// through zlib. `begin`/`end` restrict a plain file to a byte range (end 0 = to the end).
/// nullptr and `why` set when the file cannot be opened.
std::unique_ptr<ByteSource> open_source(const std::string& path, std::string& why, std::uint64_t begin = 0,
                                        std::uint64_t end = 0);

/// True when `path` is a regular file starting with the gzip magic (1f 8b).
bool is_gzip_file(const std::string& path);

/// One input file as the command line named it, or as found under a named directory.
struct InputPath {
  std::string path;
  std::uint64_t size = 0;  ///< 0 for stdin and unknown sizes
  bool gzip = false;
};

/// Expands command-line arguments: files as given, directories recursively (regular files only,
/// sorted by path so runs are reproducible; hidden files included), "-" as stdin. Paths that do
/// not exist or cannot be listed are appended to `errors` as "path: reason".
std::vector<InputPath> expand_paths(const std::vector<std::string>& args, std::vector<std::string>& errors);

}  // namespace sluice::logscan
