#include "demo/gateway_configs.h"

#include <fmt/format.h>

namespace sluice::demo {
namespace {

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

}  // namespace

std::string cloud_config(const fs::path& state, const Ports& ports) {
  return fmt::format(
      R"TOML(# "cloud" plays Exchange Online: TLS 1.2 and 1.3 only, on every connector.
state_dir = {state}
hostname = "mx.cloud.test"
local_domains = ["cloud.test"]

[[receive_connector]]
name = "Default Frontend"
listen = ["127.0.0.1:{frontend}"]
[receive_connector.tls]
profile = "exchange-online"        # TLS 1.2-1.3, Exchange Online's cipher suites

[[receive_connector]]
name = "Partner (on-premises)"
listen = ["127.0.0.1:{partner}"]   # where onprem's send connector points
remote_ranges = ["127.0.0.1"]      # onprem's address: this partner must use TLS
require_tls = true                 # no STARTTLS: "451 5.7.3 Must issue a STARTTLS command first"
[receive_connector.tls]
profile = "exchange-online"
)TOML",
      fmt::arg("state", quoted(state.string())), fmt::arg("frontend", ports.cloud_frontend),
      fmt::arg("partner", ports.cloud_partner));
}

std::string onprem_config(const fs::path& state, const Ports& ports, const OnpremPolicy& policy) {
  return fmt::format(
      R"TOML(# "onprem" plays an Exchange 2010-era server whose TLS stack was never given TLS 1.2.
state_dir = {state}
hostname = "exch2010.onprem.test"
local_domains = ["onprem.test"]

[[receive_connector]]
name = "Default EXCH2010"
listen = ["127.0.0.1:{port}"]
relay_from = ["127.0.0.1"]           # its users' mail clients send out through it

[queue]
retry_min = "4s"                     # short, so the demo need not wait for hours
retry_max = "8s"
hop_backoff_max = "8s"
lifetime = "{lifetime}"

[[send_connector]]
name = "Outbound to Office 365"
address_spaces = ["cloud.test"]
smart_hosts = ["[127.0.0.1]:{partner}"]
tls = "opportunistic"
fallback_to_plaintext = {fallback}
[send_connector.tls_policy]
profile = "{profile}"{profile_comment}
max_version = "{max_version}"
)TOML",
      fmt::arg("state", quoted(state.string())), fmt::arg("port", ports.onprem), fmt::arg("lifetime", policy.lifetime),
      fmt::arg("partner", ports.cloud_partner), fmt::arg("fallback", policy.fallback ? "true" : "false"),
      fmt::arg("profile", policy.legacy_tls ? "legacy" : "default"),
      fmt::arg("profile_comment", policy.legacy_tls ? "                  # TLS 1.0 at most: an old SCHANNEL"
                                                    : "                 # TLS 1.2 and 1.3"),
      fmt::arg("max_version", policy.legacy_tls ? "1.0" : "1.3"));
}

}  // namespace sluice::demo
