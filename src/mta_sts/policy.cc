#include "mta_sts/policy.h"

#include "base/text.h"

namespace sluice::mta_sts {

namespace {
std::string lower_without_dot(std::string_view name) {
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return ascii_lower(name);
}
}  // namespace

bool Policy::matches(std::string_view mx_host) const {
  const std::string host = lower_without_dot(mx_host);
  for (const auto& entry : mx) {
    const std::string pattern = lower_without_dot(entry);
    if (pattern.starts_with("*.")) {
      // RFC 8461 4.1: the wildcard stands for exactly one label, never for the bare parent.
      const std::string_view suffix = std::string_view(pattern).substr(1);
      const auto dot = host.find('.');
      if (dot != std::string::npos && dot > 0 && std::string_view(host).substr(dot) == suffix) return true;
    } else if (host == pattern) {
      return true;
    }
  }
  return false;
}

}  // namespace sluice::mta_sts
