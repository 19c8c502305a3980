#include "inbound/permissions.h"

#include <algorithm>

#include "auth/sender_pattern.h"
#include "base/text.h"

namespace sluice::inbound {

bool may_relay(const config::ReceiveConnector& connector, const asio::ip::address& client, const auth::User* user) {
  if (user != nullptr && !user->may_relay) return false;
  switch (connector.relay) {
    case config::RelayPermission::None:
      return false;
    case config::RelayPermission::Ranges:
      return std::any_of(connector.relay_from.begin(), connector.relay_from.end(),
                         [&](const net::Cidr& range) { return range.contains(client); });
    case config::RelayPermission::Authenticated:
      return user != nullptr;
  }
  return false;
}

bool may_send_as(const auth::User& user, std::string_view address) {
  if (user.allowed_senders.empty()) return ascii_lower(user.name) == ascii_lower(address);
  return auth::sender_matches(user.allowed_senders, address);
}

Result<void, smtp::Reply> check_sender(const config::Config& config, const config::ReceiveConnector& connector,
                                       const asio::ip::address& client, const auth::User* user,
                                       const smtp::Mailbox* sender, const std::optional<std::string>& rewritten) {
  const smtp::Reply refused = smtp::make_reply(550, "5.7.1", "Client does not have permissions to send as this sender");
  if (user != nullptr) {
    // An authenticated user's entry is the whole answer: it says which senders the device owns.
    // A sender that a rewrite turns into one of those is also the user's: what the mail leaves as.
    if (sender == nullptr || may_send_as(*user, sender->str()) || (rewritten && may_send_as(*user, *rewritten)))
      return {};
    return fail(refused);
  }
  if (sender == nullptr || sender->domain_is_literal()) return {};
  if (config::find_accepted_domain(config, sender->domain_key()) == nullptr) return {};
  if (connector.accepted_domain_senders == config::AcceptedDomainSenders::Anyone ||
      may_relay(connector, client, nullptr))
    return {};
  return fail(refused);
}

Result<Destination, smtp::Reply> recipient_destination(const config::Config& config,
                                                       const config::ReceiveConnector& connector,
                                                       const asio::ip::address& client, const auth::User* user,
                                                       const smtp::Mailbox& mailbox) {
  if (mailbox.domain.empty()) return Destination::Local;  // <postmaster> on a pure relay
  if (const config::AcceptedDomain* accepted = config::find_accepted_domain(config, mailbox.domain_key())) {
    // Mail for the organisation's domains is not relaying, whoever sends it.
    return accepted->type == config::DomainType::Authoritative ? Destination::Local : Destination::InternalRelay;
  }
  if (may_relay(connector, client, user)) return Destination::Relay;
  return fail(smtp::make_reply(550, "5.7.54", "SMTP; Unable to relay recipient in non-accepted domain"));
}

}  // namespace sluice::inbound
