// Probing many targets at once: name resolution, MX expansion, a bound on targets in flight, a
// politeness gate per server, one event loop.
#pragma once
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "probe/assessment.h"

namespace sluice::probe {

struct RunSettings {
  int parallel = 32;                        ///< targets assessed at once
  int per_host = 8;                         ///< connections at once to one server (address and port)
  std::chrono::milliseconds host_delay{0};  ///< pause between connection starts to one server
  Timeouts timeouts;
  std::string helo = "probe.sluice.invalid";
  PlanSettings plan;
  std::vector<std::string> dns_servers;  ///< empty: /etc/resolv.conf
  std::chrono::milliseconds dns_timeout{5000};
};

/// The MX hosts of `domain`, by preference, as targets on `port` (RFC 5321 5.1: implicit MX when
/// there is none). Fails for a domain that cannot receive mail, saying why.
Result<std::vector<Target>> expand_mx(const std::string& domain, std::uint16_t port, bool implicit_tls,
                                      const RunSettings& settings);

/// Called once per target as soon as it is assessed and judged (in the order they finish, on the
/// thread that called run_probes), with its index in `targets`.
using OnAssessed = std::function<void(std::size_t index, const Assessment& result)>;

/// Assesses every target (results in the order given) and judges it against every profile;
/// `on_assessed` hears of each one as it finishes. Throws std::runtime_error for set-up problems
/// (a bad --ca-file, a bad DNS server string).
std::vector<Assessment> run_probes(const std::vector<Target>& targets, const RunSettings& settings,
                                   const OnAssessed& on_assessed = {});

}  // namespace sluice::probe
