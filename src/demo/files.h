// What the gateways leave on disk for the demo to show: whole files and Maildir deliveries.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace sluice::demo {

namespace fs = std::filesystem;

/// Files in a Maildir's new/ folder, sorted by name (delivery order).
std::vector<fs::path> maildir_new(const fs::path& maildir);
/// The whole file; "" when it cannot be read.
std::string read_file(const fs::path& path);

}  // namespace sluice::demo
