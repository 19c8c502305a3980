// The configurations of the demo's two gateways: "cloud" plays Exchange Online (TLS 1.2+ only,
// TLS required from the partner), "onprem" an Exchange 2010-era server whose TLS stops at 1.0.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

namespace sluice::demo {

namespace fs = std::filesystem;

/// The loopback ports the gateways listen on.
struct Ports {
  std::uint16_t cloud_frontend = 0;
  std::uint16_t cloud_partner = 0;  ///< where onprem's send connector points
  std::uint16_t onprem = 0;
};

/// onprem's send connector, as the administrator changes it during the demo.
struct OnpremPolicy {
  bool legacy_tls = true;  ///< TLS 1.0 at most (an old SCHANNEL); false: TLS 1.2+
  bool fallback = true;    ///< fallback_to_plaintext
  std::string lifetime = "10m";
};

/// cloud's sluice.toml, with its state in `state`.
std::string cloud_config(const fs::path& state, const Ports& ports);
/// onprem's sluice.toml, with its state in `state`.
std::string onprem_config(const fs::path& state, const Ports& ports, const OnpremPolicy& policy);

}  // namespace sluice::demo
