#include "smtp/capabilities.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>

#include "base/text.h"

namespace sluice::smtp {

bool Capabilities::offers_auth(std::string_view mechanism) const {
  const std::string wanted = ascii_upper(mechanism);
  return std::find(auth_mechanisms.begin(), auth_mechanisms.end(), wanted) != auth_mechanisms.end();
}

Capabilities parse_capabilities(const Reply& ehlo) {
  Capabilities caps;
  if (ehlo.code != 250) return caps;
  caps.esmtp = true;
  for (std::size_t i = 1; i < ehlo.lines.size(); ++i) {
    std::string_view line = ehlo.lines[i];
    auto space = line.find(' ');
    const std::string keyword = ascii_lower(line.substr(0, space));
    std::string_view param = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
    if (keyword == "starttls") {
      caps.starttls = true;
    } else if (keyword == "pipelining") {
      caps.pipelining = true;
    } else if (keyword == "8bitmime") {
      caps.eight_bit_mime = true;
    } else if (keyword == "smtputf8") {
      caps.smtputf8 = true;
    } else if (keyword == "requiretls") {
      caps.requiretls = true;
    } else if (keyword == "xmove") {
      caps.move = true;
    } else if (keyword == "auth" || keyword.starts_with("auth=")) {
      std::string_view list = keyword == "auth" ? param : line.substr(5);
      while (!list.empty()) {
        const auto end = list.find(' ');
        if (end != 0) {
          const std::string mechanism = ascii_upper(list.substr(0, end));
          auto& offered = caps.auth_mechanisms;
          if (std::find(offered.begin(), offered.end(), mechanism) == offered.end()) offered.push_back(mechanism);
        }
        list = end == std::string_view::npos ? std::string_view() : list.substr(end + 1);
      }
    } else if (keyword == "size") {
      caps.size = true;
      std::uint64_t limit = 0;
      auto [end, ec] = std::from_chars(param.data(), param.data() + param.size(), limit);
      if (ec == std::errc() && end == param.data() + param.size()) caps.size_limit = limit;
    }
  }
  return caps;
}

}  // namespace sluice::smtp
