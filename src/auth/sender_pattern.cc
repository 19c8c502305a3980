#include "auth/sender_pattern.h"

#include <algorithm>

#include "base/text.h"

namespace sluice::auth {

bool sender_pattern_matches(std::string_view pattern, std::string_view address) {
  if (pattern.starts_with("*@")) {
    const auto at = address.rfind('@');
    return at != std::string_view::npos && at > 0 &&
           ascii_lower(address.substr(at + 1)) == ascii_lower(pattern.substr(2));
  }
  return ascii_lower(pattern) == ascii_lower(address);
}

bool sender_matches(const std::vector<std::string>& patterns, std::string_view address) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& pattern) { return sender_pattern_matches(pattern, address); });
}

}  // namespace sluice::auth
