#include "outbound/jwt.h"

#include "base/base64.h"

namespace sluice::outbound {
namespace {

std::optional<nlohmann::json> json_segment(std::string_view segment) {
  auto text = base64url_decode(segment);
  if (!text) return std::nullopt;
  auto json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return std::nullopt;
  return json;
}

}  // namespace

std::optional<JwtParts> decode_jwt(std::string_view token) {
  auto first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  auto second = token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) return std::nullopt;
  auto header = json_segment(token.substr(0, first));
  auto claims = json_segment(token.substr(first + 1, second - first - 1));
  if (!header || !claims) return std::nullopt;
  return JwtParts{std::move(*header), std::move(*claims)};
}

}  // namespace sluice::outbound
