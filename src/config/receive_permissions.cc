// The permissions of a [[receive_connector]]: relay, relay_from, accepted_domain_senders
// (docs/configuration.md), and the deprecated top-level relay_from that stands in for them.
#include <fmt/core.h>

#include <algorithm>

#include "config/config.h"
#include "config/toml_reader.h"

namespace sluice::config {
namespace {

using namespace detail;

constexpr Named<RelayPermission> kRelayPermissionNames[] = {{RelayPermission::None, "none"},
                                                            {RelayPermission::Ranges, "ranges"},
                                                            {RelayPermission::Authenticated, "authenticated"}};
constexpr Named<AcceptedDomainSenders> kSenderPermissionNames[] = {
    {AcceptedDomainSenders::RelayClients, "relay-clients"}, {AcceptedDomainSenders::Anyone, "anyone"}};

/// The first address of a range, to compare ranges with Cidr::contains.
asio::ip::address first_address(const net::Cidr& range) {
  const std::string text = range.str();
  return asio::ip::make_address(text.substr(0, text.find('/')));
}

bool ranges_overlap(const net::Cidr& a, const net::Cidr& b) {
  if (a.is_v4() != b.is_v4()) return false;
  return a.contains(first_address(b)) || b.contains(first_address(a));
}

/// Relay ranges: not empty, and never everyone (that is an open relay, not a permission).
std::vector<net::Cidr> relay_ranges(const TomlReader& r, const toml::node& node, const std::string& path) {
  std::vector<net::Cidr> ranges = r.ranges(node, path);
  if (ranges.empty())
    r.fail(node, path, "an empty list lets nobody relay; write relay = \"none\" (or leave both keys out) instead");
  const toml::array& items = *node.as_array();
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    if (ranges[i].prefix_length() == 0)
      r.fail(*items.get(i), fmt::format("{}[{}]", path, i),
             fmt::format("{} would let every client relay (an open relay); list the networks of the internal "
                         "servers and clients",
                         shown(ranges[i].str())));
  }
  return ranges;
}

}  // namespace

namespace detail {

bool read_receive_permissions(const TomlReader& r, const toml::table& t, const std::string& path, ReceiveConnector& c) {
  const toml::node* relay = t.get("relay");
  const toml::node* relay_from = t.get("relay_from");
  if (relay) {
    c.relay = r.one_of(*relay, join(path, "relay"), kRelayPermissionNames);
  } else if (relay_from) {
    c.relay = RelayPermission::Ranges;  // the ranges say what is meant
  }
  if (relay_from) {
    const std::string ranges_path = join(path, "relay_from");
    if (c.relay != RelayPermission::Ranges)
      r.fail(*relay_from, ranges_path,
             fmt::format("relay_from is used only with relay = \"ranges\" (this connector has relay = \"{}\")",
                         relay_permission_name(c.relay)));
    c.relay_from = relay_ranges(r, *relay_from, ranges_path);
    const toml::array& items = *relay_from->as_array();
    for (std::size_t i = 0; i < c.relay_from.size(); ++i) {
      const net::Cidr& range = c.relay_from[i];
      if (std::none_of(c.remote_ranges.begin(), c.remote_ranges.end(),
                       [&](const net::Cidr& remote) { return ranges_overlap(range, remote); }))
        r.fail(*items.get(i), fmt::format("{}[{}]", ranges_path, i),
               fmt::format("{} lies outside this connector's remote_ranges, so no client there ever reaches this "
                           "connector",
                           range.str()));
    }
  } else if (c.relay == RelayPermission::Ranges) {
    r.fail(*relay, join(path, "relay"),
           "relay = \"ranges\" needs relay_from, the clients that may relay (e.g. relay_from = [\"10.0.0.0/8\"])");
  }

  if (const toml::node* n = t.get("accepted_domain_senders")) {
    c.accepted_domain_senders = r.one_of(*n, join(path, "accepted_domain_senders"), kSenderPermissionNames);
  }
  return relay || relay_from;
}

void apply_global_relay_from(const TomlReader& r, const toml::node& node, Config& config,
                             const std::vector<bool>& sets_relay) {
  const std::vector<net::Cidr> ranges = relay_ranges(r, node, "relay_from");
  std::string names;
  for (std::size_t i = 0; i < config.receive_connectors.size(); ++i) {
    if (i < sets_relay.size() && sets_relay[i]) continue;
    ReceiveConnector& c = config.receive_connectors[i];
    c.relay = RelayPermission::Ranges;
    c.relay_from = ranges;
    names += (names.empty() ? "" : ", ") + shown(c.name);
  }
  config.notes.push_back(r.located(
      &node.source(), "relay_from",
      names.empty()
          ? std::string("the top-level relay_from is deprecated, and has no effect here: every receive connector "
                        "sets relay or relay_from itself; remove it")
          : fmt::format("the top-level relay_from is deprecated; it applies to the receive connectors that set "
                        "neither relay nor relay_from ({}); write relay_from = [...] in those [[receive_connector]] "
                        "tables instead",
                        names)));
}

}  // namespace detail

std::string_view relay_permission_name(RelayPermission permission) {
  return name_of(kRelayPermissionNames, permission).value_or("unknown");
}

}  // namespace sluice::config
