#include "inbound/permissions.h"

namespace sluice::inbound {

Result<Destination, smtp::Reply> recipient_destination(const config::Config& config, const asio::ip::address& client,
                                                       const smtp::Mailbox& mailbox) {
  if (mailbox.domain.empty()) return Destination::Local;  // <postmaster> on a pure relay
  if (const config::AcceptedDomain* accepted = config::find_accepted_domain(config, mailbox.domain_key())) {
    // Mail for the organisation's domains is not relaying, whoever sends it.
    return accepted->type == config::DomainType::Authoritative ? Destination::Local : Destination::InternalRelay;
  }
  if (config::may_relay(config, client)) return Destination::Relay;
  return fail(smtp::make_reply(550, "5.7.54", "SMTP; Unable to relay recipient in non-accepted domain"));
}

}  // namespace sluice::inbound
