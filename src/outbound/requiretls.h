// RFC 8689 REQUIRETLS on the sending side (docs/outbound.md, "REQUIRETLS"): a message that carries
// it goes only over TLS to a server whose certificate is authenticated (DANE, MTA-STS, or a
// verifying connector: TlsRequirement::authenticated()) and which offers REQUIRETLS after
// STARTTLS; it then carries REQUIRETLS on MAIL itself. Where no host of the destination can, the
// message is not sent and its recipients fail with the RFC's codes (4.2.1): 5.7.10 when no
// authenticated TLS could be had, 5.7.30 when the server does not offer REQUIRETLS; the bounce
// says so and carries REQUIRETLS too (queue/dsn). A notice (null sender) of a REQUIRETLS message
// is never held back for it (RFC 8689 5): it has REQUIRETLS on MAIL where the server offers it.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "outbound/smtp_client.h"
#include "smtp/capabilities.h"
#include "smtp/reply.h"

namespace sluice::outbound {

/// True when `transaction` must meet REQUIRETLS' conditions: it has REQUIRETLS and a sender (a
/// notice has the null sender, and is never held back for it).
bool requiretls_enforced(const Transaction& transaction);

/// The targets a REQUIRETLS message may be sent to: those whose certificate the session will
/// authenticate, in order. None: fails with 550 5.7.10 naming `domain` (the recipients fail: no
/// retry can change the policy that was decided). Any other message keeps every target.
Result<std::vector<Target>, smtp::Reply> requiretls_targets(const Transaction& transaction, std::vector<Target> targets,
                                                            const std::string& domain);

/// Just before MAIL to `host`, whose session has the requirement `tls`: the reply that stops a
/// REQUIRETLS message from going there (550 5.7.30 when it does not offer REQUIRETLS inside TLS,
/// 550 5.7.10 when the session is not authenticated TLS), or nullopt when it may go.
std::optional<smtp::Reply> requiretls_refusal(const Transaction& transaction, const TlsRequirement& tls,
                                              const std::string& host, bool tls_active,
                                              const smtp::Capabilities& offered);

/// Whether MAIL carries " REQUIRETLS": the message has it, the session is TLS and the server offers it.
bool sends_requiretls(const Transaction& transaction, bool tls_active, const smtp::Capabilities& offered);

/// After every target was tried: a REQUIRETLS message that no server took for want of authenticated
/// TLS or of REQUIRETLS fails at once (RFC 8689 4.2.1: it is returned, not retried), with 5.7.30 as
/// the client refused it, or 550 5.7.10 quoting the TLS failure. Anything else is left as it is.
void settle_requiretls(const Transaction& transaction, AttemptResult& result);

}  // namespace sluice::outbound
