// The report filters: --since, --until, --connector, --remote CIDR, --direction.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "logscan/aggregate.h"
#include "net/cidr.h"

namespace sluice::logscan {

struct Filters {
  std::optional<Millis> since;          ///< inclusive
  std::optional<Millis> until;          ///< exclusive
  std::vector<std::string> connectors;  ///< exact names; any of them
  std::vector<net::Cidr> remotes;       ///< any of them
  /// Left out (--exclude-remote): the administrator's own scanners and probes, so that their
  /// deliberate TLS 1.0 handshakes do not show up as legacy clients.
  std::vector<net::Cidr> excluded_remotes;
  std::optional<Direction> direction;

  bool empty() const {
    return !since && !until && connectors.empty() && remotes.empty() && excluded_remotes.empty() && !direction;
  }
  /// A session (by its start) or a failure line (by its time) passes every filter given. With a
  /// time filter, an unknown time does not pass; with a --remote filter, an unparsable or
  /// missing address does not; --exclude-remote leaves out only addresses in its ranges.
  bool accepts(Millis time, Direction d, std::string_view connector, std::string_view remote_ip) const;
};

/// The address part of an endpoint: "10.0.0.1:25" -> "10.0.0.1", "[2001:db8::1]:25" ->
/// "2001:db8::1", a bare address unchanged.
std::string_view endpoint_ip(std::string_view endpoint);

}  // namespace sluice::logscan
