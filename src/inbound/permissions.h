// Who may do what on a receive connector (docs/security.md, promise 4): which recipients a client
// may give (accepted domains from anyone, other domains only when the connector lets it relay),
// and which senders it may claim (spoof protection for the accepted domains).
#pragma once
#include <asio/ip/address.hpp>

#include "base/result.h"
#include "config/config.h"
#include "smtp/address.h"
#include "smtp/reply.h"

namespace sluice::inbound {

/// Where RCPT sends one accepted recipient.
enum class Destination {
  Local,          ///< an authoritative accepted domain, or <postmaster> without a domain: delivered here
  InternalRelay,  ///< an internal-relay accepted domain: on through the send connector that names it
  Relay,          ///< any other domain (or an address literal): only for a client that may relay
};

/// True when `client` may relay through `connector`: relay = "ranges" and the client is in its
/// relay_from. relay = "authenticated" relays nobody until SMTP AUTH exists (issue 16).
bool may_relay(const config::ReceiveConnector& connector, const asio::ip::address& client);

/// MAIL FROM `sender` (nullopt: the null sender <>): refused with
/// "550 5.7.1 Client does not have permissions to send as this sender" (Exchange's reply) when the
/// sender is in an accepted domain and the connector lets only relay clients use those, and
/// `client` is not one.
Result<void, smtp::Reply> check_sender(const config::Config& config, const config::ReceiveConnector& connector,
                                       const asio::ip::address& client, const smtp::Mailbox* sender);

/// RCPT's decision for `mailbox` (routing characters already refused) from `client`: its
/// destination, or the reply that refuses it
/// ("550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain").
Result<Destination, smtp::Reply> recipient_destination(const config::Config& config,
                                                       const config::ReceiveConnector& connector,
                                                       const asio::ip::address& client, const smtp::Mailbox& mailbox);

}  // namespace sluice::inbound
