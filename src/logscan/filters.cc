#include "logscan/filters.h"

#include <asio/ip/address.hpp>

#include <algorithm>

namespace sluice::logscan {

std::string_view endpoint_ip(std::string_view ep) {
  if (!ep.empty() && ep.front() == '[') {
    auto close = ep.find(']');
    return close == std::string_view::npos ? ep.substr(1) : ep.substr(1, close - 1);
  }
  auto colon = ep.find(':');
  if (colon != std::string_view::npos && ep.find(':', colon + 1) == std::string_view::npos) return ep.substr(0, colon);
  return ep;
}

bool Filters::accepts(Millis time, Direction d, std::string_view connector, std::string_view remote_ip) const {
  if (direction && *direction != d) return false;
  if ((since || until) && time == kNoTime) return false;
  if (since && time < *since) return false;
  if (until && time >= *until) return false;
  if (!connectors.empty() && std::find(connectors.begin(), connectors.end(), connector) == connectors.end())
    return false;
  if (remotes.empty() && excluded_remotes.empty()) return true;
  std::error_code ec;
  auto address = asio::ip::make_address(std::string(remote_ip), ec);
  auto in = [&](const std::vector<net::Cidr>& ranges) {
    return std::any_of(ranges.begin(), ranges.end(), [&](const net::Cidr& c) { return c.contains(address); });
  };
  if (!remotes.empty() && (ec || !in(remotes))) return false;
  return ec || !in(excluded_remotes);
}

}  // namespace sluice::logscan
