#include "inbound/requiretls.h"

#include <string>

#include "base/text.h"
#include "smtp/message_headers.h"

namespace sluice::inbound {

Result<void, smtp::Reply> check_requiretls_parameter(std::string_view value, bool tls_active) {
  if (!value.empty()) return fail(smtp::make_reply(501, "5.5.4", "REQUIRETLS takes no value"));
  // RFC 8689 names no reply for this case (a conforming client never sends it before STARTTLS):
  // 530 as RFC 3207's "Must issue a STARTTLS command first", with 5.7.10 "Encryption needed".
  if (!tls_active) return fail(smtp::make_reply(530, "5.7.10", "REQUIRETLS requires a TLS session"));
  return {};
}

bool says_tls_not_required(std::string_view header_section) {
  return ascii_lower(smtp::header_value(header_section, "TLS-Required")) == "no";
}

}  // namespace sluice::inbound
