#include "outbound/route.h"

#include <fmt/format.h>

#include "base/text.h"
#include "outbound/destination_policy.h"
#include "queue/envelope.h"
#include "queue/scheduler.h"

namespace sluice::outbound {

namespace {

// Local deliveries at once: they run on the disk executor (4 threads), beside the spool writes
// that every 250 waits for, so a burst of local mail must not take all of it.
constexpr std::size_t kLocalConcurrency = 4;

/// A smart-host connector's next hop: its hosts in order, "a:25,b:587".
std::string smart_host_hop(const config::SendConnector& connector) {
  std::string hop;
  for (const auto& host : connector.smart_hosts) hop += (hop.empty() ? "" : ",") + host.str();
  return hop;
}

smtp::Reply dns_failed(std::string_view why) {
  return smtp::make_reply(451, "4.4.0", fmt::format("DNS query failed. The error was: {}", why));
}

}  // namespace

std::string domain_of(const std::string& address) { return ascii_lower(queue::split_address(address).second); }

bool Router::is_local(const std::string& address) const {
  std::string domain = domain_of(address);
  return domain.empty() || config::is_local_domain(*config_, domain);
}

std::string Router::next_hop_of(const std::string& address) const {
  if (is_local(address)) return std::string(queue::kLocalHop);
  std::string domain = domain_of(address);
  const auto* connector = config::select_send_connector(*config_, domain);
  if (!connector) return std::string(kUnroutable);
  if (connector->smart_hosts.empty()) return domain;
  return smart_host_hop(*connector);
}

std::size_t Router::hop_limit(const std::string& next_hop) const {
  if (next_hop == queue::kLocalHop) return kLocalConcurrency;
  // Each connector's own limit: a smart-host hop is its connector's host list, an MX hop the
  // domain its connector was chosen for.
  for (const auto& connector : config_->send_connectors)
    if (!connector.smart_hosts.empty() && smart_host_hop(connector) == next_hop)
      return connector.max_connections_per_host;
  if (const auto* connector = config::select_send_connector(*config_, next_hop))
    return connector->max_connections_per_host;
  return config::SendConnector{}.max_connections_per_host;
}

Result<NextHosts, smtp::Reply> resolve_hosts(const config::SendConnector& connector, const std::string& domain,
                                             const net::MailLookups& dns) {
  NextHosts out;
  if (!connector.smart_hosts.empty()) {
    // Configured names: as trustworthy as the configuration (RFC 7672 2.2.1 treats them so).
    out.secure = true;
    for (const auto& sh : connector.smart_hosts) out.hosts.push_back({sh.host, sh.port});
    return out;
  }
  auto answer = dns.mx(domain);
  using S = net::DnsAnswer::Status;
  if (answer.status == S::NxDomain)
    return fail(smtp::make_reply(550, "5.4.310", fmt::format("DNS domain {} does not exist", domain)));
  if (answer.status == S::NullMx)
    return fail(
        smtp::make_reply(556, "5.1.10", fmt::format("Domain {} does not accept mail (null MX, RFC 7505)", domain)));
  if (answer.status != S::Ok) return fail(dns_failed(answer.error));
  out.secure = answer.secure;
  for (const auto& mx : answer.hosts) out.hosts.push_back({mx.name, connector.port});
  return out;
}

Result<std::vector<Target>, smtp::Reply> host_targets(const std::vector<HostTls>& hosts, const net::MailLookups& dns,
                                                      std::string errors) {
  std::vector<Target> targets;
  for (const auto& [host, tls] : hosts) {
    if (targets.size() >= kMaxTargets) break;
    auto answer = dns.addresses(host.name);
    if (answer.status != net::DnsAnswer::Status::Ok) {
      errors += (errors.empty() ? "" : "; ") + host.name + ": " + answer.error;
      continue;
    }
    for (const auto& address : answer.addresses)
      if (targets.size() < kMaxTargets)
        targets.push_back({host.name, asio::ip::tcp::endpoint(address, host.port), tls});
  }
  if (targets.empty()) return fail(dns_failed(errors.empty() ? "no address for any host" : errors));
  return targets;
}

Result<std::vector<Target>, smtp::Reply> resolve_targets(const config::SendConnector& connector,
                                                         const std::string& domain, const net::MailLookups& dns) {
  auto hosts = resolve_hosts(connector, domain, dns);
  if (!hosts) return fail(hosts.error());
  std::vector<HostTls> with_tls;
  for (const auto& host : hosts->hosts) with_tls.push_back({host, connector_requirement(connector, host.name)});
  return host_targets(with_tls, dns, "");
}

}  // namespace sluice::outbound
