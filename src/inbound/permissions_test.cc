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
  EXPECT_FALSE(may_relay(anonymous(), ip("10.1.2.3"), nullptr));
  EXPECT_FALSE(may_relay(partner(), ip("40.92.1.1"), nullptr));
  EXPECT_TRUE(may_relay(internal(), ip("10.1.2.3"), nullptr));
  EXPECT_TRUE(may_relay(internal(), ip("::ffff:10.1.2.3"), nullptr));  // as a dual-stack socket reports it
  EXPECT_FALSE(may_relay(internal(), ip("10.2.0.1"), nullptr));        // on the connector, outside relay_from
  config::ReceiveConnector authenticated = internal();
  authenticated.relay = RelayPermission::Authenticated;
  EXPECT_FALSE(may_relay(authenticated, ip("10.1.2.3"), nullptr));  // not authenticated: relay_from is not used
}

/// Named apart from session_auth_test.cc's user(name, senders, relay): in a unity batch both are one
/// overload set, and user("x", {"*@example.org"}) silently picked this one (a pointer is a bool).
auth::User user_relaying(std::string name, bool relay, std::vector<std::string> senders = {}) {
  auth::User u;
  u.name = std::move(name);
  u.may_relay = relay;
  u.allowed_senders = std::move(senders);
  return u;
}

TEST(Permissions, AuthenticatedUsersRelayPerTheirEntryWhereTheConnectorSaysAuthenticated) {
  config::ReceiveConnector devices;
  devices.relay = RelayPermission::Authenticated;
  const auth::User relays = user_relaying("app", true);
  const auth::User local_only = user_relaying("scanner", false);
  EXPECT_TRUE(may_relay(devices, ip("192.0.2.1"), &relays));
  EXPECT_FALSE(may_relay(devices, ip("192.0.2.1"), &local_only));
  EXPECT_FALSE(may_relay(devices, ip("192.0.2.1"), nullptr));
  // Another connector's permission is not widened by AUTH, and relay=no narrows relay_from too.
  EXPECT_FALSE(may_relay(anonymous(), ip("192.0.2.1"), &relays));
  EXPECT_TRUE(may_relay(internal(), ip("10.1.2.3"), &relays));
  EXPECT_FALSE(may_relay(internal(), ip("10.1.2.3"), &local_only));

  const config::Config org = organisation();
  EXPECT_EQ(*recipient_destination(org, devices, ip("192.0.2.1"), &relays, mailbox("x", "remote.example")),
            Destination::Relay);
  EXPECT_EQ(refusal(recipient_destination(org, devices, ip("192.0.2.1"), &local_only, mailbox("x", "remote.example"))),
            kRelay);
  // relay=no still reaches the organisation's own domains.
  EXPECT_EQ(*recipient_destination(org, devices, ip("192.0.2.1"), &local_only, mailbox("bob", "example.org")),
            Destination::Local);
  EXPECT_EQ(*recipient_destination(org, devices, ip("192.0.2.1"), &local_only, mailbox("bob", "corp.example")),
            Destination::InternalRelay);
}

TEST(Permissions, AuthenticatedUsersSendOnlyAsTheirAllowedSenders) {
  const config::Config org = organisation();
  config::ReceiveConnector devices;
  devices.relay = RelayPermission::Authenticated;
  devices.accepted_domain_senders = AcceptedDomainSenders::RelayClients;
  const auth::User scanner = user_relaying("scanner", false, {"*@example.org", "alerts@remote.example"});
  const smtp::Mailbox ours = mailbox("scan", "Example.org");
  const smtp::Mailbox listed = mailbox("alerts", "remote.example");
  const smtp::Mailbox other = mailbox("ceo", "remote.example");
  // Its entry decides, even for an accepted domain on a connector that keeps those for relay clients.
  EXPECT_EQ(refusal(check_sender(org, devices, ip("192.0.2.1"), &scanner, &ours, std::nullopt)), "accepted");
  EXPECT_EQ(refusal(check_sender(org, devices, ip("192.0.2.1"), &scanner, &listed, std::nullopt)), "accepted");
  EXPECT_EQ(refusal(check_sender(org, devices, ip("192.0.2.1"), &scanner, &other, std::nullopt)), kSpoof);
  EXPECT_EQ(refusal(check_sender(org, devices, ip("192.0.2.1"), &scanner, nullptr, std::nullopt)), "accepted");  // <>
  // No allowed_senders: only the user's own name, when it is an address.
  const auth::User mailbox_user = user_relaying("App@Example.org", true);
  const smtp::Mailbox itself = mailbox("app", "example.org");
  EXPECT_EQ(refusal(check_sender(org, devices, ip("192.0.2.1"), &mailbox_user, &itself, std::nullopt)), "accepted");
  EXPECT_EQ(refusal(check_sender(org, devices, ip("192.0.2.1"), &mailbox_user, &ours, std::nullopt)), kSpoof);
  const auth::User plain_name = user_relaying("printer", true);
  EXPECT_EQ(refusal(check_sender(org, devices, ip("192.0.2.1"), &plain_name, &listed, std::nullopt)), kSpoof);
  EXPECT_TRUE(may_send_as(scanner, "SCAN@EXAMPLE.ORG"));
  EXPECT_FALSE(may_send_as(scanner, "scan@sub.example.org"));
}

TEST(Permissions, AUserMaySendAsASenderThatARewriteTurnsIntoOneOfItsOwn) {
  const config::Config org = organisation();
  config::ReceiveConnector devices;
  devices.relay = RelayPermission::Authenticated;
  const auth::User scanner = user_relaying("scanner", false, {"*@example.org"});
  const smtp::Mailbox device_sender = mailbox("scanner", "device.local");
  EXPECT_EQ(refusal(check_sender(org, devices, ip("192.0.2.1"), &scanner, &device_sender, "scan@example.org")),
            "accepted");
  EXPECT_EQ(refusal(check_sender(org, devices, ip("192.0.2.1"), &scanner, &device_sender, "scan@remote.example")),
            kSpoof);
  EXPECT_EQ(refusal(check_sender(org, devices, ip("192.0.2.1"), &scanner, &device_sender, std::nullopt)), kSpoof);
}

TEST(Permissions, RecipientsInAcceptedDomainsFromAnyoneOthersOnlyFromRelayClients) {
  const config::Config org = organisation();
  for (const auto& [connector, client] : {std::pair{anonymous(), "192.0.2.1"}, std::pair{partner(), "40.92.1.1"},
                                          std::pair{internal(), "10.2.0.1"}, std::pair{internal(), "10.1.0.1"}}) {
    SCOPED_TRACE(client);
    EXPECT_EQ(*recipient_destination(org, connector, ip(client), nullptr, mailbox("bob", "Example.ORG")),
              Destination::Local);
    EXPECT_EQ(*recipient_destination(org, connector, ip(client), nullptr, mailbox("bob", "corp.example")),
              Destination::InternalRelay);
    EXPECT_EQ(*recipient_destination(org, connector, ip(client), nullptr, mailbox("postmaster", "")),
              Destination::Local);
  }
  EXPECT_EQ(refusal(recipient_destination(org, anonymous(), ip("192.0.2.1"), nullptr, mailbox("x", "remote.example"))),
            kRelay);
  EXPECT_EQ(refusal(recipient_destination(org, partner(), ip("40.92.1.1"), nullptr, mailbox("x", "remote.example"))),
            kRelay);
  EXPECT_EQ(refusal(recipient_destination(org, internal(), ip("10.2.0.1"), nullptr, mailbox("x", "remote.example"))),
            kRelay);
  EXPECT_EQ(refusal(recipient_destination(org, partner(), ip("40.92.1.1"), nullptr, mailbox("x", "sub.corp.example"))),
            kRelay);
  EXPECT_EQ(refusal(recipient_destination(org, partner(), ip("40.92.1.1"), nullptr, mailbox("x", "[10.0.0.1]"))),
            kRelay);
  EXPECT_EQ(*recipient_destination(org, internal(), ip("10.1.0.1"), nullptr, mailbox("x", "remote.example")),
            Destination::Relay);
  EXPECT_EQ(*recipient_destination(org, internal(), ip("10.1.0.1"), nullptr, mailbox("x", "[192.0.2.1]")),
            Destination::Relay);
}

TEST(Permissions, SendersInAcceptedDomainsOnlyFromRelayClientsUnlessTheConnectorAllowsAnyone) {
  const config::Config org = organisation();
  const smtp::Mailbox ours = mailbox("ceo", "EXAMPLE.org");
  const smtp::Mailbox internal_domain = mailbox("ceo", "corp.example");
  const smtp::Mailbox theirs = mailbox("alice", "remote.example");
  EXPECT_EQ(refusal(check_sender(org, anonymous(), ip("192.0.2.1"), nullptr, &ours, std::nullopt)), kSpoof);
  EXPECT_EQ(refusal(check_sender(org, anonymous(), ip("192.0.2.1"), nullptr, &internal_domain, std::nullopt)), kSpoof);
  EXPECT_EQ(refusal(check_sender(org, internal(), ip("10.2.0.1"), nullptr, &ours, std::nullopt)), kSpoof);
  EXPECT_EQ(refusal(check_sender(org, anonymous(), ip("192.0.2.1"), nullptr, &theirs, std::nullopt)), "accepted");
  EXPECT_EQ(refusal(check_sender(org, anonymous(), ip("192.0.2.1"), nullptr, nullptr, std::nullopt)),
            "accepted");  // <>
  EXPECT_EQ(refusal(check_sender(org, partner(), ip("40.92.1.1"), nullptr, &ours, std::nullopt)), "accepted");
  EXPECT_EQ(refusal(check_sender(org, internal(), ip("10.1.0.1"), nullptr, &internal_domain, std::nullopt)),
            "accepted");
  const smtp::Mailbox subdomain = mailbox("ceo", "mail.example.org");  // not covered by "example.org"
  EXPECT_EQ(refusal(check_sender(org, anonymous(), ip("192.0.2.1"), nullptr, &subdomain, std::nullopt)), "accepted");
}

}  // namespace
}  // namespace sluice::inbound
