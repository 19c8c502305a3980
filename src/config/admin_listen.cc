// admin_listen and admin_listen_public: where the metrics and health endpoint listens
// (docs/metrics.md). Off unless given; loopback unless admin_listen_public says otherwise, since
// the metrics name connectors, next hops and traffic an outsider should not see. node_name: the
// gateway's name in the metrics of a fleet (sluice_node_info).
#include <fmt/format.h>
#include <asio/ip/address.hpp>

#include <algorithm>
#include <cctype>

#include "config/toml_reader.h"

namespace sluice::config::detail {

void read_admin_listen(const TomlReader& reader, const toml::table& root, Config& config) {
  if (const toml::node* n = root.get("node_name")) {
    // A label value a PromQL query can be typed with: no quoting or escaping needed.
    config.node_name = reader.non_empty_string(*n, "node_name");
    const bool plain =
        config.node_name.size() <= 64 && std::all_of(config.node_name.begin(), config.node_name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
        });
    if (!plain) reader.fail(*n, "node_name", "use 1 to 64 letters, digits, '.', '-' and '_' (e.g. \"mx1\")");
  }
  if (const toml::node* n = root.get("admin_listen_public"))
    config.admin_listen_public = reader.boolean(*n, "admin_listen_public");
  const toml::node* n = root.get("admin_listen");
  if (!n) return;
  auto address = parse_listen_address(reader.string(*n, "admin_listen"));
  if (!address) reader.fail(*n, "admin_listen", address.error().message);
  std::error_code ec;
  const auto ip = asio::ip::make_address(address->host, ec);
  if (!ec && !ip.is_loopback() && !config.admin_listen_public)
    reader.fail(*n, "admin_listen",
                fmt::format("{} is not a loopback address: the metrics would be open to the network; set "
                            "admin_listen_public = true to allow it (and restrict access with a firewall)",
                            address->str()));
  if (!ec && !ip.is_loopback())
    config.notes.push_back(
        reader.located(&n->source(), "admin_listen",
                       fmt::format("{} is not a loopback address (admin_listen_public = true): anyone who reaches it "
                                   "reads the metrics; restrict it with a firewall",
                                   address->str())));
  config.admin_listen = *address;
}

}  // namespace sluice::config::detail
