// [mta_sts]: the fetch of MTA-STS policies (RFC 8461 3.3) by the sending side. Which deliveries
// apply MTA-STS is the send connectors' tls mode; this section only says how policies are fetched.
#include "config/toml_reader.h"  // first: what this file implements (fuzz/run.sh finds it so)

#include <fmt/core.h>

namespace sluice::config::detail {
namespace {
constexpr std::string_view kMtaStsKeys[] = {"ca_file", "https_port", "connect_timeout", "fetch_timeout"};
// RFC 8461 3.3: "senders SHOULD ... [use] a timeout of at most one minute" for the whole fetch.
constexpr Seconds kMaxFetchTimeout{60};
}  // namespace

void read_mta_sts(const TomlReader& r, const toml::table& root, Config& config) {
  const toml::node* node = root.get("mta_sts");
  if (!node) return;
  const toml::table& t = r.table(*node, "mta_sts");
  r.check_keys(t, "mta_sts", kMtaStsKeys);
  MtaStsSettings& settings = config.mta_sts;
  if (const toml::node* n = t.get("ca_file")) {
    settings.ca_file = r.non_empty_string(*n, "mta_sts.ca_file");
    r.check_readable_file(*n, "mta_sts.ca_file", settings.ca_file.string(), "a PEM file of CA certificates");
  }
  if (const toml::node* n = t.get("https_port")) settings.https_port = r.port(*n, "mta_sts.https_port");
  r.durations(
      t, "mta_sts",
      {{"connect_timeout", &MtaStsSettings::connect_timeout}, {"fetch_timeout", &MtaStsSettings::fetch_timeout}},
      settings);
  for (const auto& [key, value] :
       {std::pair{"connect_timeout", settings.connect_timeout}, std::pair{"fetch_timeout", settings.fetch_timeout}}) {
    if (value > kMaxFetchTimeout)
      r.fail(*t.get(key), join("mta_sts", key),
             fmt::format("{} s is longer than the minute RFC 8461 3.3 allows a policy fetch", value.count()));
  }
}

}  // namespace sluice::config::detail
