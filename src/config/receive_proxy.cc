// The PROXY protocol settings of a [[receive_connector]] (docs/configuration.md,
// docs/load-balancer.md): proxy_protocol, proxy_from, proxy_timeout.
#include "config/toml_reader.h"

#include <fmt/core.h>

#include "config/config.h"

namespace sluice::config::detail {

namespace {
constexpr Named<net::ProxyVersions> kProxyVersionNames[] = {
    {net::ProxyVersions::V1, "v1"}, {net::ProxyVersions::V2, "v2"}, {net::ProxyVersions::Both, "v1+v2"}};
}  // namespace

void read_receive_proxy(const TomlReader& r, const toml::table& t, const std::string& path, ReceiveConnector& c) {
  const toml::node* protocol = t.get("proxy_protocol");
  if (!protocol) {
    for (std::string_view key : {"proxy_from", "proxy_timeout"}) {
      if (const toml::node* n = t.get(key))
        r.fail(*n, join(path, key), "is used only with proxy_protocol (\"v1\", \"v2\" or \"v1+v2\")");
    }
    return;
  }
  const std::string protocol_path = join(path, "proxy_protocol");
  c.proxy_protocol = r.one_of(*protocol, protocol_path, kProxyVersionNames);

  const toml::node* from = t.get("proxy_from");
  if (!from)
    r.fail(*protocol, protocol_path,
           "needs proxy_from, the addresses of the load balancers (e.g. proxy_from = [\"10.0.0.5\"]): only they "
           "may name the client");
  const std::string from_path = join(path, "proxy_from");
  c.proxy_from = r.ranges(*from, from_path);
  if (c.proxy_from.empty()) r.fail(*from, from_path, "an empty list names no load balancer; list their addresses");
  const toml::array& items = *from->as_array();
  for (std::size_t i = 0; i < c.proxy_from.size(); ++i) {
    // Whoever may send the header chooses the client address sluice believes: never everyone.
    if (c.proxy_from[i].prefix_length() == 0)
      r.fail(*items.get(i), fmt::format("{}[{}]", from_path, i),
             fmt::format("{} would let every client claim any address (relay_from, limits, logs); list the "
                         "load balancers' addresses",
                         shown(c.proxy_from[i].str())));
  }
  if (const toml::node* n = t.get("proxy_timeout")) c.proxy_timeout = r.duration(*n, join(path, "proxy_timeout"));
}

void check_same_proxy_settings(const TomlReader& r, const toml::node& table, const std::string& path,
                               const ReceiveConnector& c, const ReceiveConnector& other, const ListenAddress& address) {
  if (c.proxy_protocol == other.proxy_protocol && c.proxy_from == other.proxy_from &&
      c.proxy_timeout == other.proxy_timeout)
    return;
  r.fail(table, path,
         fmt::format("connectors {} and {} share {} but not their proxy_protocol, proxy_from and proxy_timeout; "
                     "the PROXY header is read before the client's address chooses between them, so give them "
                     "the same settings (or different listen addresses)",
                     shown(c.name), shown(other.name), address.str()));
}

}  // namespace sluice::config::detail
