// gzip (RFC 1952) in memory: reports are sent compressed (RFC 8460 5.1) and those we receive
// come compressed. Small data only (a report is kilobytes; reading stops at a limit).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"

namespace sluice::tlsrpt {

std::string gzip_compress(std::string_view data);
/// Fails for data that is not gzip, is cut short, or expands beyond `limit` bytes (a zip bomb
/// in a report someone mailed us).
Result<std::string> gzip_decompress(std::string_view data, std::size_t limit = 64u << 20);
/// Starts with the gzip magic bytes 1f 8b.
bool looks_gzipped(std::string_view data);

}  // namespace sluice::tlsrpt
