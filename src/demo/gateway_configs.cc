#include "demo/gateway_configs.h"

#include <fmt/format.h>

#include "demo/toml_string.h"

namespace sluice::demo {
namespace {

// The hybrid gateway's parts of onprem's configuration (OnpremPolicy::hybrid).
constexpr const char* kOnpremInternalRelay = R"TOML([[accepted_domain]]
domain = "onprem.test"
type = "internal-relay"              # the mailboxes are on "mailbox" now)TOML";

constexpr const char* kOnpremHybrid = R"TOML(
[[send_connector]]
name = "To the mailbox server"
address_spaces = ["onprem.test"]
smart_hosts = ["[127.0.0.1]:{mailbox}"]

[[receive_connector]]
name = "Inbound from Office 365"
listen = ["127.0.0.1:{onprem_partner}"] # where cloud's send connector for onprem.test points
remote_ranges = ["127.0.0.1"]        # cloud's address
require_tls = true
[receive_connector.tls]
profile = "exchange-online"

[recipient_validation]
verify = "callout"                   # asks "mailbox": unknown users are refused at RCPT
)TOML";

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
relay_from = ["127.0.0.1"]         # bob's mail client submits here too
[receive_connector.tls]
profile = "exchange-online"        # TLS 1.2-1.3, Exchange Online's cipher suites

[[receive_connector]]
name = "Partner (on-premises)"
listen = ["127.0.0.1:{partner}"]   # where onprem's send connector points
remote_ranges = ["127.0.0.1"]      # onprem's address: this partner must use TLS
require_tls = true                 # no STARTTLS: "451 5.7.3 Must issue a STARTTLS command first"
[receive_connector.tls]
profile = "exchange-online"

[[send_connector]]
name = "Outbound to on-premises"   # the hybrid direction: mail for onprem.test goes to its gateway
address_spaces = ["onprem.test"]
smart_hosts = ["[127.0.0.1]:{onprem_partner}"]
tls = "required"
[send_connector.tls_policy]
profile = "exchange-online"
max_version = "1.2"
)TOML",
      fmt::arg("state", toml_string(state.string())), fmt::arg("frontend", ports.cloud_frontend),
      fmt::arg("partner", ports.cloud_partner), fmt::arg("onprem_partner", ports.onprem_partner));
}

std::string onprem_config(const fs::path& state, const Ports& ports, const OnpremPolicy& policy) {
  return fmt::format(
      R"TOML(# "onprem" plays an Exchange 2010-era server whose TLS stack was never given TLS 1.2.
state_dir = {state}
hostname = "exch2010.onprem.test"
{domains}

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
{hybrid})TOML",
      fmt::arg("state", toml_string(state.string())), fmt::arg("port", ports.onprem),
      fmt::arg("lifetime", policy.lifetime), fmt::arg("partner", ports.cloud_partner),
      fmt::arg("fallback", policy.fallback ? "true" : "false"),
      fmt::arg("profile", policy.legacy_tls ? "legacy" : "default"),
      fmt::arg("profile_comment", policy.legacy_tls ? "                  # TLS 1.0 at most: an old SCHANNEL"
                                                    : "                 # TLS 1.2 and 1.3"),
      fmt::arg("max_version", policy.legacy_tls ? "1.0" : "1.3"),
      fmt::arg("domains", policy.hybrid ? kOnpremInternalRelay : "local_domains = [\"onprem.test\"]"),
      fmt::arg("hybrid", policy.hybrid ? fmt::format(kOnpremHybrid, fmt::arg("onprem_partner", ports.onprem_partner),
                                                     fmt::arg("mailbox", ports.mailbox))
                                       : ""));
}

std::string mailbox_config(const fs::path& state, const Ports& ports, const fs::path& recipients_file) {
  return fmt::format(
      R"TOML(# "mailbox" plays the internal mail server behind the onprem gateway: alice's mailbox is here.
state_dir = {state}
hostname = "mailbox.onprem.test"
local_domains = ["onprem.test"]

[[receive_connector]]
name = "Default MAILBOX"
listen = ["127.0.0.1:{port}"]

[recipient_validation]
recipients_file = {recipients}   # its users; anyone else is refused at RCPT
)TOML",
      fmt::arg("state", toml_string(state.string())), fmt::arg("port", ports.mailbox),
      fmt::arg("recipients", toml_string(recipients_file.string())));
}

}  // namespace sluice::demo
