#include "net/cidr.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>

namespace sluice::net {
namespace {

using Bytes = asio::ip::address_v6::bytes_type;

constexpr std::array<unsigned char, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool is_mapped(const Bytes& b) { return std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), b.begin()); }

/// The address as the range logic sees it: IPv4 (first 4 bytes) or IPv6, mapped IPv6 unwrapped.
struct Canonical {
  Bytes bytes{};
  bool v4 = true;
};

Canonical canonical(const asio::ip::address& address) {
  Canonical c;
  if (address.is_v4()) {
    auto b = address.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), c.bytes.begin());
    return c;
  }
  Bytes b = address.to_v6().to_bytes();
  if (is_mapped(b)) {
    std::copy(b.begin() + 12, b.end(), c.bytes.begin());
    return c;
  }
  c.bytes = b;
  c.v4 = false;
  return c;
}

bool same_prefix(const Bytes& a, const Bytes& b, int bits) {
  const int whole = bits / 8;
  if (!std::equal(a.begin(), a.begin() + whole, b.begin())) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

Bytes network_of(Bytes b, int bits) {
  for (int i = 0; i < 16; ++i) {
    const int keep = std::clamp(bits - i * 8, 0, 8);
    b[i] &= static_cast<unsigned char>(keep == 0 ? 0 : 0xff << (8 - keep));
  }
  return b;
}

std::string address_text(const Bytes& b, bool v4) {
  if (v4) return fmt::format("{}.{}.{}.{}", b[0], b[1], b[2], b[3]);
  return asio::ip::address_v6(b).to_string();
}

}  // namespace

Result<Cidr> Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  const std::string_view addr_text = text.substr(0, slash);
  if (addr_text.empty()) {
    return fail(fmt::format("\"{}\" has no address; write a range such as \"10.0.0.0/8\" or \"2001:db8::/32\"", text));
  }
  if (addr_text.find('%') != std::string_view::npos) {
    return fail(fmt::format("\"{}\" has a zone index (%...), which a range cannot have", text));
  }
  std::error_code ec;
  const auto address = asio::ip::make_address(std::string(addr_text), ec);
  if (ec) {
    return fail(
        fmt::format("\"{}\" is not an address range; write \"10.0.0.0/8\", \"2001:db8::/32\" or a single "
                    "address (numeric, no host names)",
                    text));
  }

  Cidr cidr;
  int max_prefix = 32;
  if (address.is_v4()) {
    const auto b = address.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), cidr.bytes_.begin());
  } else {
    cidr.bytes_ = address.to_v6().to_bytes();
    cidr.v4_ = false;
    max_prefix = 128;
  }

  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view p = text.substr(slash + 1);
    const bool digits =
        !p.empty() && p.size() <= 3 && std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits) std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (!digits || prefix > max_prefix) {
      return fail(fmt::format("\"{}\": the prefix length after '/' must be a number from 0 to {}", text, max_prefix));
    }
  }

  const Bytes network = network_of(cidr.bytes_, prefix);
  if (network != cidr.bytes_) {
    const bool v4 = cidr.v4_;
    return fail(
        fmt::format("\"{}\" has host bits set below the /{} prefix: the network is \"{}/{}\" (write that for "
                    "the whole range, or \"{}\" for this one address)",
                    text, prefix, address_text(network, v4), prefix, address_text(cidr.bytes_, v4)));
  }
  cidr.prefix_ = prefix;

  if (!cidr.v4_ && prefix >= 96 && is_mapped(cidr.bytes_)) {
    Bytes v4{};
    std::copy(cidr.bytes_.begin() + 12, cidr.bytes_.end(), v4.begin());
    cidr.bytes_ = v4;
    cidr.v4_ = true;
    cidr.prefix_ = prefix - 96;
  }
  return cidr;
}

bool Cidr::contains(const asio::ip::address& address) const {
  const Canonical c = canonical(address);
  return c.v4 == v4_ && same_prefix(c.bytes, bytes_, prefix_);
}

std::string Cidr::str() const { return fmt::format("{}/{}", address_text(bytes_, v4_), prefix_); }

}  // namespace sluice::net
