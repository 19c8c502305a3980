#include "auth/sender_pattern.h"

#include "base/text.h"

namespace sluice::auth {

bool sender_pattern_matches(std::string_view pattern, std::string_view address) {
  if (pattern.starts_with("*@")) {
    const auto at = address.rfind('@');
    return at != std::string_view::npos && ascii_lower(address.substr(at + 1)) == ascii_lower(pattern.substr(2));
  }
  return ascii_lower(pattern) == ascii_lower(address);
}

}  // namespace sluice::auth
