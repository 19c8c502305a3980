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
  if (!remotes.empty()) {
    std::error_code ec;
    auto address = asio::ip::make_address(std::string(remote_ip), ec);
    if (ec) return false;
    return std::any_of(remotes.begin(), remotes.end(), [&](const net::Cidr& c) { return c.contains(address); });
  }
  return true;
}

}  // namespace sluice::logscan
