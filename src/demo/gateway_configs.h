// The configurations of the demo's gateways: "cloud" plays Exchange Online (TLS 1.2+ only, TLS
// required from the partner), "onprem" an Exchange 2010-era server whose TLS stops at 1.0 (and,
// at the end, the hybrid gateway in front of "mailbox"), "mailbox" the internal mail server.
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
  std::uint16_t onprem_partner = 0;  ///< onprem's receive connector for cloud (hybrid), where cloud sends onprem.test
  std::uint16_t mailbox = 0;         ///< the internal mail server
};

/// onprem's send connector, as the administrator changes it during the demo.
struct OnpremPolicy {
  bool legacy_tls = true;  ///< TLS 1.0 at most (an old SCHANNEL); false: TLS 1.2+
  bool fallback = true;    ///< fallback_to_plaintext
  std::string lifetime = "10m";
  /// The hybrid gateway: onprem.test becomes internal-relay (routed to "mailbox", recipients
  /// checked by callout) and a partner connector takes cloud's mail; false: onprem.test is local.
  bool hybrid = false;
};

/// cloud's sluice.toml, with its state in `state`.
std::string cloud_config(const fs::path& state, const Ports& ports);
/// onprem's sluice.toml, with its state in `state`.
std::string onprem_config(const fs::path& state, const Ports& ports, const OnpremPolicy& policy);
/// mailbox's sluice.toml: authoritative for onprem.test, the users listed in `recipients_file`.
std::string mailbox_config(const fs::path& state, const Ports& ports, const fs::path& recipients_file);

}  // namespace sluice::demo
