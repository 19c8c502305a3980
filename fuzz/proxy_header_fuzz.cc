// The PROXY protocol header parser (src/net/proxy_header.h), fed what a load balancer (or anyone
// reaching a proxy_from address) sends first. The first input byte picks the accepted versions
// (1, 2 or both); the rest is the connection's bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "net/proxy_header.h"

using namespace sluice::net;

namespace {

ProxyVersions versions_of(std::uint8_t byte) {
  switch (byte % 3) {
    case 0:
      return ProxyVersions::V1;
    case 1:
      return ProxyVersions::V2;
    default:
      return ProxyVersions::Both;
  }
}

bool same(const ProxyHeader& a, const ProxyHeader& b) {
  return a.version == b.version && a.length == b.length && a.source == b.source && a.destination == b.destination;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const ProxyVersions accepted = versions_of(data[0]);
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  auto parsed = parse_proxy_header(bytes, accepted);
  if (!parsed) {
    FUZZ_CHECK(!parsed.error().message.empty() && parsed.error().message.find('\n') == std::string_view::npos);
    return 0;
  }
  if (!*parsed) {
    // Incomplete only below the version's limit: nothing is buffered without bound.
    FUZZ_CHECK(bytes.size() < kMaxProxyV2Length);
    return 0;
  }
  const ProxyHeader& header = **parsed;
  FUZZ_CHECK(header.version == 1 || header.version == 2);
  FUZZ_CHECK(header.length <= bytes.size());
  FUZZ_CHECK(header.length <= (header.version == 1 ? kMaxProxyV1Length : kMaxProxyV2Length));
  FUZZ_CHECK(header.version == 2 || bytes.substr(header.length - 2, 2) == "\r\n");
  FUZZ_CHECK(header.source.has_value() == header.destination.has_value());
  if (header.source) FUZZ_CHECK(header.source->address().is_v4() == header.destination->address().is_v4());
  // The header alone gives the same result (what follows is the client's, never read into it),
  // and every shorter prefix of it is incomplete, not refused: a header split across reads works.
  auto alone = parse_proxy_header(bytes.substr(0, header.length), accepted);
  FUZZ_CHECK(alone && *alone && same(**alone, header));
  for (std::size_t n : {std::size_t(0), header.length / 2, header.length - 1}) {
    auto prefix = parse_proxy_header(bytes.substr(0, n), accepted);
    FUZZ_CHECK(prefix && !*prefix);
  }
  // Its version alone accepts it the same; the other version alone refuses it.
  auto own = parse_proxy_header(bytes, header.version == 1 ? ProxyVersions::V1 : ProxyVersions::V2);
  FUZZ_CHECK(own && *own && same(**own, header));
  FUZZ_CHECK(!parse_proxy_header(bytes, header.version == 1 ? ProxyVersions::V2 : ProxyVersions::V1));
  return 0;
}
