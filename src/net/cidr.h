// Address ranges ("10.0.0.0/8", "::/0", "192.0.2.1") for connector selection and relay control.
#pragma once
#include <asio/ip/address.hpp>

#include <string>
#include <string_view>

#include "base/result.h"

namespace sluice::net {

class Cidr {
 public:
  /// "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128). Host bits set below the
  /// prefix are an error, so "10.1.2.3/8" is caught as the typo it usually is. The error says
  /// what is wrong in one line (for configuration errors).
  /// A range inside ::ffff:0:0/96 (IPv4-mapped) is stored as the IPv4 range it denotes, so
  /// "::ffff:10.0.0.0/104" is 10.0.0.0/8.
  static Result<Cidr> parse(std::string_view text);

  /// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, what a dual-stack socket reports) match IPv4
  /// ranges. Otherwise IPv4 ranges hold only IPv4 clients and IPv6 ranges only IPv6 ones, so
  /// "::/0" does not contain 192.0.2.1.
  bool contains(const asio::ip::address& address) const;
  /// Prefix length; larger is more specific. IPv4 ranges compare with IPv6 ones by this number.
  int prefix_length() const { return prefix_; }
  bool is_v4() const { return v4_; }
  /// Always with the prefix: "10.0.0.0/8", "192.0.2.1/32", "2001:db8::/32".
  std::string str() const;

  friend bool operator==(const Cidr&, const Cidr&) = default;

 private:
  asio::ip::address_v6::bytes_type bytes_{};  ///< IPv4 stored in the first 4 bytes
  bool v4_ = true;
  int prefix_ = 0;
};

}  // namespace sluice::net
