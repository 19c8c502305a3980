#include "inbound/sasl_responses.h"

#include "base/base64.h"

namespace sluice::inbound {
Result<std::string, smtp::Reply> decode_sasl_response(std::string_view line, bool initial) {
  if (line == "*") return fail(smtp::make_reply(501, "5.0.0", "Authentication cancelled"));
  if (initial && line == "=") return std::string();
  auto decoded = base64_decode(line);
  if (!decoded) return fail(smtp::make_reply(501, "5.5.2", "Cannot decode the response (it is not base64)"));
  return std::move(*decoded);
}

Result<PlainCredentials, smtp::Reply> parse_plain(std::string_view message) {
  const std::size_t first = message.find('\0');
  const std::size_t second = first == std::string_view::npos ? first : message.find('\0', first + 1);
  if (second == std::string_view::npos || message.find('\0', second + 1) != std::string_view::npos)
    return fail(smtp::make_reply(501, "5.5.2", "Malformed PLAIN response (authzid NUL authcid NUL password)"));
  return PlainCredentials{std::string(message.substr(0, first)),
                          std::string(message.substr(first + 1, second - first - 1)),
                          std::string(message.substr(second + 1))};
}

}  // namespace sluice::inbound
