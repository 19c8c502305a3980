#include "inbound/permissions.h"

#include <gtest/gtest.h>

namespace sluice::inbound {
namespace {

using config::AcceptedDomainSenders;
using config::DomainType;
using config::RelayPermission;

asio::ip::address ip(const char* text) { return asio::ip::make_address(text); }

smtp::Mailbox mailbox(std::string local, std::string domain) { return {std::move(local), std::move(domain)}; }

/// An organisation with example.org here, corp.example on an internal server.
config::Config organisation() {
  config::Config c;
  c.accepted_domains = {{"example.org", DomainType::Authoritative}, {"corp.example", DomainType::InternalRelay}};
  return c;
}

/// Exchange's three kinds of receive connector.
config::ReceiveConnector anonymous() { return {}; }
config::ReceiveConnector partner() {
  config::ReceiveConnector c;
  c.remote_ranges = {*net::Cidr::parse("40.92.0.0/15")};
  c.accepted_domain_senders = AcceptedDomainSenders::Anyone;
  return c;
}
config::ReceiveConnector internal() {
  config::ReceiveConnector c;
  c.remote_ranges = {*net::Cidr::parse("10.0.0.0/8")};
  c.relay = RelayPermission::Ranges;
  c.relay_from = {*net::Cidr::parse("10.1.0.0/16")};
  return c;
}

std::string refusal(const Result<Destination, smtp::Reply>& decision) {
  return decision ? "accepted" : decision.error().one_line();
}
std::string refusal(const Result<void, smtp::Reply>& decision) {
  return decision ? "accepted" : decision.error().one_line();
}

constexpr std::string_view kRelay = "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain";
constexpr std::string_view kSpoof = "550 5.7.1 Client does not have permissions to send as this sender";

TEST(Permissions, OnlyRangesInRelayFromRelay) {
  EXPECT_FALSE(may_relay(anonymous(), ip("10.1.2.3")));
  EXPECT_FALSE(may_relay(partner(), ip("40.92.1.1")));
  EXPECT_TRUE(may_relay(internal(), ip("10.1.2.3")));
  EXPECT_TRUE(may_relay(internal(), ip("::ffff:10.1.2.3")));  // as a dual-stack socket reports it
  EXPECT_FALSE(may_relay(internal(), ip("10.2.0.1")));        // on the connector, outside relay_from
  config::ReceiveConnector authenticated = internal();
  authenticated.relay = RelayPermission::Authenticated;
  EXPECT_FALSE(may_relay(authenticated, ip("10.1.2.3")));  // no AUTH yet: nobody
}

TEST(Permissions, RecipientsInAcceptedDomainsFromAnyoneOthersOnlyFromRelayClients) {
  const config::Config org = organisation();
  for (const auto& [connector, client] : {std::pair{anonymous(), "192.0.2.1"}, std::pair{partner(), "40.92.1.1"},
                                          std::pair{internal(), "10.2.0.1"}, std::pair{internal(), "10.1.0.1"}}) {
    SCOPED_TRACE(client);
    EXPECT_EQ(*recipient_destination(org, connector, ip(client), mailbox("bob", "Example.ORG")), Destination::Local);
    EXPECT_EQ(*recipient_destination(org, connector, ip(client), mailbox("bob", "corp.example")),
              Destination::InternalRelay);
    EXPECT_EQ(*recipient_destination(org, connector, ip(client), mailbox("postmaster", "")), Destination::Local);
  }
  EXPECT_EQ(refusal(recipient_destination(org, anonymous(), ip("192.0.2.1"), mailbox("x", "remote.example"))), kRelay);
  EXPECT_EQ(refusal(recipient_destination(org, partner(), ip("40.92.1.1"), mailbox("x", "remote.example"))), kRelay);
  EXPECT_EQ(refusal(recipient_destination(org, internal(), ip("10.2.0.1"), mailbox("x", "remote.example"))), kRelay);
  EXPECT_EQ(refusal(recipient_destination(org, partner(), ip("40.92.1.1"), mailbox("x", "sub.corp.example"))), kRelay);
  EXPECT_EQ(refusal(recipient_destination(org, partner(), ip("40.92.1.1"), mailbox("x", "[10.0.0.1]"))), kRelay);
  EXPECT_EQ(*recipient_destination(org, internal(), ip("10.1.0.1"), mailbox("x", "remote.example")),
            Destination::Relay);
  EXPECT_EQ(*recipient_destination(org, internal(), ip("10.1.0.1"), mailbox("x", "[192.0.2.1]")), Destination::Relay);
}

TEST(Permissions, SendersInAcceptedDomainsOnlyFromRelayClientsUnlessTheConnectorAllowsAnyone) {
  const config::Config org = organisation();
  const smtp::Mailbox ours = mailbox("ceo", "EXAMPLE.org");
  const smtp::Mailbox internal_domain = mailbox("ceo", "corp.example");
  const smtp::Mailbox theirs = mailbox("alice", "remote.example");
  EXPECT_EQ(refusal(check_sender(org, anonymous(), ip("192.0.2.1"), &ours)), kSpoof);
  EXPECT_EQ(refusal(check_sender(org, anonymous(), ip("192.0.2.1"), &internal_domain)), kSpoof);
  EXPECT_EQ(refusal(check_sender(org, internal(), ip("10.2.0.1"), &ours)), kSpoof);
  EXPECT_EQ(refusal(check_sender(org, anonymous(), ip("192.0.2.1"), &theirs)), "accepted");
  EXPECT_EQ(refusal(check_sender(org, anonymous(), ip("192.0.2.1"), nullptr)), "accepted");  // <>
  EXPECT_EQ(refusal(check_sender(org, partner(), ip("40.92.1.1"), &ours)), "accepted");
  EXPECT_EQ(refusal(check_sender(org, internal(), ip("10.1.0.1"), &internal_domain)), "accepted");
  const smtp::Mailbox subdomain = mailbox("ceo", "mail.example.org");  // not covered by "example.org"
  EXPECT_EQ(refusal(check_sender(org, anonymous(), ip("192.0.2.1"), &subdomain)), "accepted");
}

}  // namespace
}  // namespace sluice::inbound
