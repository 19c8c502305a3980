// Who may do what on a receive connector (docs/security.md, promise 4): which recipients a client
// may give (accepted domains from anyone, other domains only when it may relay).
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

/// RCPT's decision for `mailbox` (routing characters already refused) from `client`: its
/// destination, or the reply that refuses it
/// ("550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain").
Result<Destination, smtp::Reply> recipient_destination(const config::Config& config, const asio::ip::address& client,
                                                       const smtp::Mailbox& mailbox);

}  // namespace sluice::inbound
