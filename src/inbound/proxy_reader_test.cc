#include "inbound/proxy_reader.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::inbound {
namespace {

// A directive, not a using-declaration, which would hide std::chrono_literals' operator""s from
// the other tests of a unity build's translation unit.
using namespace std::string_literals;

net::ProxyHeader header_of(std::string_view bytes) {
  auto parsed = net::parse_proxy_header(bytes, net::ProxyVersions::Both);
  EXPECT_TRUE(parsed && *parsed) << (parsed ? "incomplete" : parsed.error().message);
  return parsed && *parsed ? **parsed : net::ProxyHeader{};
}

TEST(IsBalancerItself, NoClientOrThisVeryConnection) {
  const asio::ip::tcp::endpoint balancer(asio::ip::make_address("10.0.0.5"), 40001);
  const asio::ip::tcp::endpoint local(asio::ip::make_address("10.0.0.21"), 25);
  EXPECT_TRUE(is_balancer_itself(header_of("PROXY UNKNOWN\r\n"), balancer, local));
  EXPECT_TRUE(is_balancer_itself(header_of("\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00"s), balancer, local));
  // HAProxy's v1 health check names the check connection itself.
  EXPECT_TRUE(is_balancer_itself(header_of("PROXY TCP4 10.0.0.5 10.0.0.21 40001 25\r\n"), balancer, local));
  const asio::ip::tcp::endpoint mapped(asio::ip::make_address("::ffff:10.0.0.5"), 40001);
  EXPECT_TRUE(is_balancer_itself(header_of("PROXY TCP4 10.0.0.5 10.0.0.21 40001 25\r\n"), mapped, local));
  // A client, even one on the balancer's host, or the balancer's address on another connection.
  EXPECT_FALSE(is_balancer_itself(header_of("PROXY TCP4 10.0.0.5 10.0.0.21 40002 25\r\n"), balancer, local));
  EXPECT_FALSE(is_balancer_itself(header_of("PROXY TCP4 10.0.0.5 10.0.0.1 40001 25\r\n"), balancer, local));
  EXPECT_FALSE(is_balancer_itself(header_of("PROXY TCP4 192.0.2.1 10.0.0.21 40001 25\r\n"), balancer, local));
}

}  // namespace
}  // namespace sluice::inbound
