// RFC 8689 at intake: the MAIL FROM parameter REQUIRETLS and the "TLS-Required: No" header field,
// the two ways a sender says how much TLS its message needs on the way (docs/smtp.md, "REQUIRETLS").
#pragma once
#include <string_view>

#include "base/result.h"
#include "smtp/reply.h"

namespace sluice::inbound {

/// MAIL's REQUIRETLS parameter, with `value` as written ("" when none) on a session whose TLS is
/// `tls_active`. The caller handles it only when the connector offers REQUIRETLS; a duplicate is
/// refused by the parser already. Fails with the reply: 501 5.5.4 for a value (the keyword takes
/// none), 530 5.7.10 outside TLS (EHLO offers it only inside, and the message would have come in
/// plaintext on its first hop).
Result<void, smtp::Reply> check_requiretls_parameter(std::string_view value, bool tls_active);

/// True when the header section has a "TLS-Required: No" field (RFC 8689 5; the field name and
/// the value are case-insensitive, blanks around the value ignored).
bool says_tls_not_required(std::string_view header_section);

}  // namespace sluice::inbound
