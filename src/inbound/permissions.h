// Who may do what on a receive connector (docs/security.md, promise 4): which recipients a client
// may give (accepted domains from anyone, other domains only when the connector lets it relay),
// and which senders it may claim (spoof protection for the accepted domains).
#pragma once
#include <asio/ip/address.hpp>
#include <optional>
#include <string>

#include "auth/user_database.h"
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
/// relay_from, or relay = "authenticated" and the client authenticated (`user`, null when it did
/// not). A user whose entry says relay=no never relays, whatever the connector allows.
bool may_relay(const config::ReceiveConnector& connector, const asio::ip::address& client, const auth::User* user);

/// True when `user` may give `address` in MAIL FROM: its allowed_senders, or, when it lists none,
/// its own name when that is an address (case is ignored).
bool may_send_as(const auth::User& user, std::string_view address);

/// MAIL FROM `sender` (null: the null sender <>), refused with
/// "550 5.7.1 Client does not have permissions to send as this sender" (Exchange's reply):
/// from an authenticated `user`, a sender it may not send as (may_send_as; <> is always allowed),
/// unless `rewritten` (what a sender rewrite turns `sender` into, if any) is one it may send as:
/// that is what the mail leaves as; from anyone else, a sender in an accepted domain when the
/// connector lets only relay clients use those and `client` is not one.
Result<void, smtp::Reply> check_sender(const config::Config& config, const config::ReceiveConnector& connector,
                                       const asio::ip::address& client, const auth::User* user,
                                       const smtp::Mailbox* sender, const std::optional<std::string>& rewritten);

/// RCPT's decision for `mailbox` (routing characters already refused) from `client` (`user`: who
/// it authenticated as, or null): its destination, or the reply that refuses it
/// ("550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain").
Result<Destination, smtp::Reply> recipient_destination(const config::Config& config,
                                                       const config::ReceiveConnector& connector,
                                                       const asio::ip::address& client, const auth::User* user,
                                                       const smtp::Mailbox& mailbox);

}  // namespace sluice::inbound
