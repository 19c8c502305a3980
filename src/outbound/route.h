// Routing: which next hop a recipient goes to (local, its domain's MX hosts, a smart host list),
// the concurrency of that hop, and the addresses an attempt tries. DNS comes through
// net::MailLookups, so tests route with answers from a table.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/config.h"
#include "net/dns.h"
#include "outbound/smtp_client.h"
#include "smtp/reply.h"

namespace sluice::outbound {

/// The next hop of a recipient no send connector serves: it fails at once.
inline constexpr std::string_view kUnroutable = "unroutable";
/// Addresses tried per attempt, in MX order.
inline constexpr std::size_t kMaxTargets = 10;

/// The domain of "local@domain", lower-cased; "" without one.
std::string domain_of(const std::string& address);

class Router {
 public:
  explicit Router(const config::Config& config) : config_(&config) {}

  /// Local domains (and addresses without a domain) are delivered here.
  bool is_local(const std::string& address) const;
  /// "local", the recipient's domain (MX routing), its send connector's smart hosts in order
  /// ("a:25,b:587"), or kUnroutable.
  std::string next_hop_of(const std::string& address) const;
  /// A next hop's concurrency: the max_connections_per_host of the send connector it belongs to
  /// (each connector its own), or the local delivery concurrency.
  std::size_t hop_limit(const std::string& next_hop) const;

 private:
  const config::Config* config_;  ///< a pointer so that a reload can give the engine a new Router
};

/// The hosts mail for a domain goes to, before their addresses are looked up.
struct NextHost {
  std::string name;
  std::uint16_t port = 25;
};
struct NextHosts {
  std::vector<NextHost> hosts;  ///< smart hosts in order, or MX hosts by preference
  bool secure = false;          ///< DNSSEC-validated MX answer (smart hosts: configured, so true)
};
/// A host and what TLS a session with it must achieve.
struct HostTls {
  NextHost host;
  TlsRequirement tls;
};

/// The smart hosts of `connector`, or the MX hosts of `domain`. Errors as resolve_targets.
Result<NextHosts, smtp::Reply> resolve_hosts(const config::SendConnector& connector, const std::string& domain,
                                             const net::MailLookups& dns);
/// The addresses of each host, in order, at most kMaxTargets; `errors` says why hosts were left
/// out before (it becomes part of the reply when no target is left).
Result<std::vector<Target>, smtp::Reply> host_targets(const std::vector<HostTls>& hosts, const net::MailLookups& dns,
                                                      std::string errors);
/// The targets of an attempt for `domain` through `connector`: its smart hosts in order, or the
/// domain's MX hosts by preference, each host's addresses, at most kMaxTargets. Blocking (DNS).
/// The error is the reply the recipients get: 550 5.4.310 (no such domain), 556 5.1.10 (null
/// MX), or 451 4.4.0 "DNS query failed" (temporary; also when no host has an address).
Result<std::vector<Target>, smtp::Reply> resolve_targets(const config::SendConnector& connector,
                                                         const std::string& domain, const net::MailLookups& dns);

}  // namespace sluice::outbound
