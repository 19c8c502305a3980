// [send_connector.tls_destinations]: a send connector's TLS policy per destination (docs/outbound.md,
// "TLS policy"), the idea of Postfix's smtp_tls_policy_maps. A key is a destination domain
// ("example.org") or its subdomains ("*.example.org"); a value is a mode, or a table with the mode,
// the names a verified certificate must carry and a minimum TLS version.
#include "config/toml_reader.h"  // first: what this file implements (fuzz/run.sh finds it so)

#include <fmt/core.h>

#include <algorithm>

#include "base/text.h"
#include "config/config.h"

namespace sluice::config::detail {
namespace {

constexpr std::string_view kDestinationKeys[] = {"mode", "match", "min_version"};

TlsDestination read_entry(const TomlReader& r, const std::string& domain, const toml::node& node,
                          const std::string& path) {
  TlsDestination d;
  d.domain = domain;
  if (node.is_string()) {
    d.mode = read_outbound_tls(r, node, path);
    return d;
  }
  if (!node.is_table())
    r.fail(node, path,
           "must be a mode (\"dane\", \"verify\", ...) or a table such as { mode = \"verify\", match = "
           "[\"mx.example.org\"], min_version = \"1.2\" }");
  const toml::table& t = *node.as_table();
  r.check_keys(t, path, kDestinationKeys);
  const toml::node* mode = t.get("mode");
  if (!mode) r.fail(t, path, "missing key 'mode'");
  d.mode = read_outbound_tls(r, *mode, join(path, "mode"));
  if (const toml::node* n = t.get("match")) {
    const std::string match_path = join(path, "match");
    if (d.mode != OutboundTls::Verify)
      r.fail(*n, match_path,
             fmt::format("match names the certificate's names for mode = \"verify\"; this entry has mode = \"{}\"",
                         outbound_tls_name(d.mode)));
    const toml::array& items = r.array(*n, match_path);
    if (items.empty()) r.fail(*n, match_path, "is empty; leave it out to match the host's own name");
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string item_path = fmt::format("{}[{}]", match_path, i);
      std::string name = ascii_lower(r.string(*items.get(i), item_path));
      if (auto checked =
              check_domain_pattern(name, "a certificate name", "write \"mx.example.org\" or \"*.example.org\"");
          !checked)
        r.fail(*items.get(i), item_path, checked.error().message);
      d.match.push_back(std::move(name));
    }
  }
  if (const toml::node* n = t.get("min_version")) {
    const std::string version_path = join(path, "min_version");
    const std::string text = r.string(*n, version_path);
    auto version = tls::parse_config_version(text);
    if (!version) r.fail(*n, version_path, fmt::format("{} is not one of 1.0, 1.1, 1.2, 1.3", shown(text)));
    if (d.mode == OutboundTls::None)
      r.fail(*n, version_path, "a minimum TLS version means nothing with mode = \"none\"");
    d.min_version = *version;
  }
  return d;
}

}  // namespace

void read_tls_destinations(const TomlReader& r, const toml::table& table, const std::string& path,
                           SendConnector& connector) {
  for (const auto& [key, node] : table) {
    const std::string domain = ascii_lower(key.str());
    const std::string entry_path = fmt::format("{}.\"{}\"", path, key.str());
    if (auto checked = check_domain_pattern(domain, "a destination", "write \"example.org\" or \"*.example.org\"");
        !checked || domain == "*")
      r.fail(node, entry_path,
             checked ? "\"*\" would be every destination: that is the connector's own tls" : checked.error().message);
    const bool twice = std::any_of(connector.tls_destinations.begin(), connector.tls_destinations.end(),
                                   [&](const TlsDestination& d) { return d.domain == domain; });
    if (twice) r.fail(node, entry_path, fmt::format("{} is listed twice (keys are case-insensitive)", shown(domain)));
    connector.tls_destinations.push_back(read_entry(r, domain, node, entry_path));
  }
}

}  // namespace sluice::config::detail
