// The files a running `sluice serve` reads again after start: at a live reload (the configuration,
// certificates and keys), when they change (users and recipients files), or when a token or a
// session needs them (send connectors' secrets, CA files). After a privilege drop the service
// user reads them, so they are checked for it at start rather than found unreadable later.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "config/config.h"

namespace sluice::config {

struct FileInUse {
  std::string setting;  ///< where it is configured: "receive_connector \"Default\": tls.key"
  std::filesystem::path path;
};

/// Every such file of `config`, the configuration file itself first (when there is one), in file
/// order. The generated certificates in state_dir are not listed: they are the service user's.
std::vector<FileInUse> files_in_use(const Config& config, const std::filesystem::path& config_file);

}  // namespace sluice::config
